/**
 * Copies the napi-generated loader, its types and the built `.node` file(s) from `src/native/`
 * into `dist/native/`, so that the compiled facade finds them at the same relative path.
 *
 * The CommonJS build in `dist/cjs/` gets a `package.json` marking its `.js` files as CommonJS,
 * and a `native/index.cjs` that re-exports `dist/native/index.cjs`: both builds share one
 * loaded binding (one set of native classes), and the binary is not copied twice.
 *
 * Run by `npm run build:ts` (through tsx) after both `tsc` builds.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  writeFileSync,
} from 'node:fs'
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
    // Through a temporary file and a rename: a process still running the old binary keeps its
    // mapping of the old file (overwriting it in place would crash that process with SIGBUS).
    const temp = join(to, `.${name}.${process.pid}.tmp`)
    copyFileSync(join(from, name), temp)
    renameSync(temp, join(to, name))
    copied.push(name)
  }
}
if (!copied.some((name) => name.endsWith('.node'))) {
  console.error('src/native/ holds no .node binary: run `npm run build:native` first')
  process.exit(1)
}

const cjs = join(root, 'dist', 'cjs')
mkdirSync(join(cjs, 'native'), { recursive: true })
writeFileSync(join(cjs, 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`)
writeFileSync(
  join(cjs, 'native', 'index.cjs'),
  "// The ESM build's loader, shared: one binding for both builds.\nmodule.exports = require('../../native/index.cjs')\n",
)
copyFileSync(join(from, 'index.d.cts'), join(cjs, 'native', 'index.d.cts'))
