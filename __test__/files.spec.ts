/**
 * Files: only regular files are read (a named pipe never hangs, a character device never reads
 * forever), model files honour the umask, and a save killed mid-write leaves nothing that the
 * next save does not remove.
 */
import { execFileSync, spawn } from 'node:child_process'
import { readdirSync, statSync, utimesSync } from 'node:fs'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'

import test from 'ava'

import { writeFileAtomic } from '../src/cli/files.js'
import { Dataset, EASE, GFCF, loadModel } from '../src/index.js'
import { randomDataset, tempDir } from './fixtures.js'

const unix = process.platform !== 'win32'
const IO = { code: 'IO_ERROR' } as const

/** Settles with `promise`, or fails after `ms` (a hang). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms: a hang`)), ms)
  })
  try {
    return await Promise.race([promise, hang])
  } finally {
    clearTimeout(timer)
  }
}

const unixTest = unix ? test : test.skip
const unixSerial = unix ? test.serial : test.skip

unixTest(
  'a named pipe is IO_ERROR at once (open never waits for a writer), with or without an AbortSignal',
  async (t) => {
    const dir = tempDir()
    t.teardown(dir.cleanup)
    const fifo = join(dir.dir, 'interactions.tsv')
    execFileSync('mkfifo', [fifo])
    const error = await within(t.throwsAsync(Dataset.fromFile(fifo), IO), 5000)
    t.regex(error?.message ?? '', /named pipe \(FIFO\), not a regular file/)
    t.regex(error?.message ?? '', /interactions\.tsv/)
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 50)
    await within(t.throwsAsync(Dataset.fromFile(fifo, { signal: controller.signal }), IO), 5000)
    await within(
      t.throwsAsync(
        Dataset.fromSplitFiles({ train: fifo, valid: fifo, test: fifo }, { header: true }),
        IO,
      ),
      5000,
    )
    const model = await within(t.throwsAsync(loadModel(fifo), IO), 5000)
    t.regex(model?.message ?? '', /named pipe/)
  },
)

unixTest('character devices are IO_ERROR naming what they are', async (t) => {
  for (const device of ['/dev/null', '/dev/zero']) {
    const read = await within(t.throwsAsync(Dataset.fromFile(device), IO), 5000)
    t.regex(read?.message ?? '', /character device, not a regular file/, device)
    const load = await within(t.throwsAsync(loadModel(device), IO), 5000)
    t.regex(load?.message ?? '', /character device/, device)
  }
  const dir = tempDir()
  t.teardown(dir.cleanup)
  const folder = await t.throwsAsync(loadModel(dir.dir), IO)
  t.regex(folder?.message ?? '', /a directory/)
})

const data = randomDataset(60, 30, 5, 3)
const small = GFCF.fit(data, { eigenvectors: 4 })

unixSerial('model files honour the umask, and `mode` restricts them', async (t) => {
  const dir = tempDir()
  t.teardown(dir.cleanup)
  const model = await small
  const before = process.umask(0o022)
  t.teardown(() => process.umask(before))
  const modeOf = (path: string) => statSync(path).mode & 0o777
  await model.save(join(dir.dir, 'shared.corml'))
  t.is(modeOf(join(dir.dir, 'shared.corml')), 0o644)
  await model.save(join(dir.dir, 'private.corml'), { mode: 0o600 })
  t.is(modeOf(join(dir.dir, 'private.corml')), 0o600)
  process.umask(0o027)
  await model.save(join(dir.dir, 'group.corml'))
  t.is(modeOf(join(dir.dir, 'group.corml')), 0o640)
  for (const mode of [0o1000, -1, 1.5, '644', NaN]) {
    await t.throwsAsync(model.save(join(dir.dir, 'x.corml'), { mode } as never), {
      code: 'INVALID_ARGUMENT',
    })
  }
  t.deepEqual(readdirSync(dir.dir).sort(), ['group.corml', 'private.corml', 'shared.corml'])
})

const root = fileURLToPath(new URL('..', import.meta.url))

/**
 * A child process that trains EASE on 1,500 items (a 9 MB model), starts saving it to `path` and
 * kills itself (SIGKILL) as soon as a temporary file appears next to it.
 */
const KILLED_SAVE = `
  import { readdirSync } from 'node:fs'
  import { dirname } from 'node:path'
  const { Dataset, EASE } = await import(process.env.CORML_ENTRY)
  const path = process.env.CORML_MODEL
  const users = [], items = []
  for (let u = 0; u < 3000; u++) for (let j = 0; j < 8; j++) {
    users.push('u' + u); items.push('i' + ((u * 7 + j * 131) % 1500))
  }
  const model = await EASE.fit(Dataset.fromPairs(users, items), { device: 'cpu' })
  const poll = () => {
    const names = readdirSync(dirname(path))
    if (names.some((n) => n.startsWith('.'))) process.kill(process.pid, 'SIGKILL')
    else if (names.length > 0) process.exit(3) // saved before a poll saw its temporary file
    else setImmediate(poll)
  }
  model.save(path)
  poll()
`

unixSerial('a save killed mid-write leaves a temporary file the next save removes', async (t) => {
  const dir = tempDir()
  t.teardown(dir.cleanup)
  const path = join(dir.dir, 'model.corml')
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', KILLED_SAVE],
    {
      cwd: root,
      env: {
        ...process.env,
        CORML_ENTRY: join(root, 'src', 'index.ts'),
        CORML_MODEL: path,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  )
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('exit', (_, s) => resolve(s)),
  )
  t.is(signal, 'SIGKILL', stderr)
  const left = readdirSync(dir.dir)
  t.is(left.length, 1, `one temporary file, no model: ${left.join(', ')}`)
  t.true(left[0]!.startsWith('.model.corml.corml-tmp-'), left[0])

  await (await small).save(path)
  t.deepEqual(readdirSync(dir.dir), ['model.corml'])
  t.is((await loadModel(path)).info.algorithm, 'gfcf')
  // A save to another path in the same directory leaves this one's files alone.
  await (await EASE.fit(data, { device: 'cpu' })).save(join(dir.dir, 'other.corml'))
  t.deepEqual(readdirSync(dir.dir).sort(), ['model.corml', 'other.corml'])
})

test('the CLI’s atomic writes remove the temporary files of killed processes, not of live ones', (t) => {
  const dir = tempDir()
  t.teardown(dir.cleanup)
  const aged = (path: string) => {
    const then = new Date(Date.now() - 5 * 60_000)
    utimesSync(path, then, then)
    return basename(path)
  }
  // A process id above the kernel's maximum: no such process. Its file was last written 5 min ago.
  const dead = aged(dir.write('.results.csv.99999999.tmp', 'half'))
  // The same, but just written: it may be a writer this process cannot see (another host).
  const recent = basename(dir.write('.results.csv.99999998.tmp', 'half'))
  // The parent of this test is alive: its file is a write in progress, however old.
  const live = aged(dir.write(`.results.csv.${process.ppid}.tmp`, 'writing'))
  const other = aged(dir.write('.chart.svg.99999999.tmp', 'another file'))
  writeFileAtomic(join(dir.dir, 'results.csv'), 'a,b\n')
  const left = readdirSync(dir.dir).sort()
  t.deepEqual(left, [other, live, recent, 'results.csv'].sort())
  t.false(left.includes(dead))
})
