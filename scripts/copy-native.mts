/**
 * Copies the napi-generated loader, its types and the built `.node` file(s) from `src/native/`
 * into `dist/native/`, so that the compiled facade finds them at the same relative path.
 *
 * Run by `npm run build:ts` (through tsx) after `tsc`.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const from = join(root, 'src', 'native')
const to = join(root, 'dist', 'native')

if (!existsSync(join(from, 'index.cjs'))) {
  console.error('src/native/index.cjs is missing: run `npm run build:native` first')
  process.exit(1)
}
mkdirSync(to, { recursive: true })
const copied: string[] = []
for (const name of readdirSync(from)) {
  if (name === 'index.cjs' || name === 'index.d.cts' || name.endsWith('.node')) {
    copyFileSync(join(from, name), join(to, name))
    copied.push(name)
  }
}
if (!copied.some((name) => name.endsWith('.node'))) {
  console.error('src/native/ holds no .node binary: run `npm run build:native` first')
  process.exit(1)
}
