import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'

import test from 'ava'

import { FAST, SAMPLE, corml, errorLine, tempDir } from './cli-harness.js'

/** A usage error: exit 2, one `corml …: USAGE:` line (or a library code), the help hint, no stack. */
async function usage(
  t: import('ava').ExecutionContext,
  argv: string[],
  pattern: RegExp,
  code = 'USAGE',
) {
  const r = await corml(argv)
  t.is(r.code, 2, `${argv.join(' ')}: ${r.stderr}`)
  const line = errorLine(r)
  t.true(line.includes(`: ${code}: `), line)
  t.regex(line, pattern)
  t.regex(r.stderr, /\(see `corml[^`]*--help`\)/)
  t.false(/\n\s+at /.test(r.stderr), 'no stack trace without --verbose')
  t.is(r.stdout, '')
}

test('no arguments prints the help and exits 2; --help and --version exit 0', async (t) => {
  const none = await corml([])
  t.is(none.code, 2)
  t.regex(none.stderr, /Usage: corml/)
  const help = await corml(['--help'])
  t.is(help.code, 0)
  t.regex(help.stdout, /Exit codes:/)
  for (const command of ['train', 'eval', 'recommend', 'tune', 'bench', 'info']) {
    const r = await corml([command, '--help'])
    t.is(r.code, 0, command)
    t.regex(r.stdout, new RegExp(`Usage: corml ${command}`))
  }
  const version = await corml(['--version'])
  t.is(version.code, 0)
  t.regex(version.stdout, /^\d+\.\d+\.\d+/)
})

test('unknown commands and options are usage errors with a suggestion', async (t) => {
  await usage(t, ['evl', SAMPLE], /unknown command 'evl'.*Did you mean eval/)
  await usage(t, ['eval', SAMPLE, '--lamda', '0.5'], /unknown option '--lamda'.*--lambda/)
  await usage(t, ['train', SAMPLE], /required option '-o, --output <file>' not specified/)
  await usage(t, ['eval'], /missing required argument 'data'/)
  await usage(t, ['eval', SAMPLE, 'extra'], /too many arguments/)
})

test('option values are checked before any work', async (t) => {
  await usage(
    t,
    ['eval', SAMPLE, '--lambda', 'abc'],
    /--lambda <x>.*'abc' is invalid.*finite number/,
  )
  await usage(t, ['eval', SAMPLE, '--lambda', 'NaN'], /finite number/)
  // Ranges come from the hyperparameter list and are checked as the command line is parsed.
  await usage(t, ['eval', SAMPLE, '--eigenvectors', '0'], /an integer in \[1, 4096\]/)
  await usage(t, ['eval', SAMPLE, '--admm-iterations', '2.5'], /an integer in \[1, 10000\]/)
  await usage(t, ['eval', SAMPLE, '--lambda', '5'], /--lambda <x>.*'5' is invalid.*in \(0, 1\]/)
  await usage(
    t,
    ['eval', SAMPLE, '--model', 'svd'],
    /--model.*'svd' is invalid.*corml, ease, gfcf, all/,
  )
  await usage(t, ['eval', SAMPLE, '--preset', 'netflix'], /Allowed choices are pinterest, gowalla/)
  await usage(t, ['eval', SAMPLE, '--ks', '5,,10'], /no empty entries/)
  await usage(t, ['eval', SAMPLE, '--ks', '0'], /integer ≥ 1/)
  await usage(t, ['eval', SAMPLE, '--split', 'temporal'], /leave-last-out/)
  await usage(t, ['eval', SAMPLE, '--ratios', '0.5,0.5'], /three shares/)
  await usage(t, ['eval', SAMPLE, '--delimiter', ';;'], /one ASCII character/)
  await usage(t, ['eval', SAMPLE, '--device', 'gpu'], /--device must be auto, cpu, cuda or cuda:N/)
  await usage(t, ['eval', SAMPLE, '--rating-col', 'rating'], /--rating-col needs --min-rating/)
  await usage(
    t,
    ['eval', SAMPLE, '--split', 'leave-last-out', '--ratios', '0.8,0.1,0.1'],
    /takes no --ratios/,
  )
  await usage(t, ['eval', SAMPLE, '--metric', 'auc@20'], /ndcg@K, mrr@K, recall@K or novelty@K/)
  await usage(
    t,
    ['eval', SAMPLE, '--sweep', 'lambda=0.5:0.9:0.1', '--model', 'ease'],
    /use --model corml/,
  )
  await usage(t, ['eval', SAMPLE, '--sweep', 'lambda=0.5,itemDegreeNorm=0'], /one hyperparameter/)
  await usage(t, ['bench', '--scale', '2'], /--scale must be in \(0, 1\]/)
  await usage(t, ['bench', '--models', 'svd'], /unknown model "svd"/)
  await usage(t, ['bench', '--device', 'tpu'], /--device must be auto, cpu, cuda or cuda:N/)
  // Out of the library's range: its INVALID_ARGUMENT is a usage error too.
  await usage(
    t,
    ['eval', SAMPLE, '--model', 'ease', '--ease-regularization', '-1'],
    /regularization/,
    'INVALID_ARGUMENT',
  )
})

test('grids are parsed and checked', async (t) => {
  const dir = tempDir(t)
  const bad: [string, RegExp][] = [
    ['lambda', /must be name=start:stop:step/],
    ['alpha=0.1', /unknown hyperparameter "alpha".*lambda, dualStepLength/],
    ['lambda=0.9:0.6:0.1', /step > 0 and stop ≥ start/],
    ['lambda=0.6:0.9:0', /step > 0/],
    ['lambda=0.6:0.9', /start:stop:step, a\|b\|c or one value/],
    ['lambda=0.6|x', /"x" is not a number/],
    ['eigenvectors=16|32.5', /eigenvectors must be an integer in \[1, 4096\], not 32\.5/],
    ['lambda=0.5,lambda=0.6', /appears twice/],
    ['lambda=0:1:0.001,itemDegreeNorm=-1:1:0.01', /has 201201 points; at most 10000/],
    ['lambda=0:100:0.0001', /has 1000001 values/],
  ]
  for (const [grid, pattern] of bad) {
    await usage(t, ['tune', SAMPLE, '--grid', grid, '--output-dir', dir], pattern)
  }
  await usage(t, ['tune', SAMPLE, '--output-dir', dir], /required option '--grid <spec>'/)
})

test('input problems exit 3 with the file and line; --verbose adds the stack', async (t) => {
  const dir = tempDir(t)
  const missing = await corml(['eval', join(dir, 'none.tsv')])
  t.is(missing.code, 3)
  t.regex(errorLine(missing), /^corml eval: IO_ERROR: .*none\.tsv/)
  const bad = join(dir, 'bad.tsv')
  writeFileSync(bad, 'user_id\titem_id\nu1\ti1\nu2\n')
  const parse = await corml(['train', bad, '-o', join(dir, 'm.corml')])
  t.is(parse.code, 3)
  t.regex(
    errorLine(parse),
    /^corml train: PARSE_ERROR: .*bad\.tsv:3: expected the item id in column 1, but the line has 1 fields/,
  )
  t.false(existsSync(join(dir, 'm.corml')))
  t.false(/\n\s+at /.test(parse.stderr))
  const verbose = await corml(['eval', bad, '--rating-col', '2', '--verbose'])
  t.is(verbose.code, 2)
  t.regex(verbose.stderr, /^corml eval: USAGE: --rating-col needs --min-rating/)
  t.regex(verbose.stderr, /\n\s+at .*data\.(ts|js)/)
  const empty = join(dir, 'empty.tsv')
  writeFileSync(empty, 'user_id\titem_id\n')
  const none = await corml(['eval', empty])
  t.is(none.code, 3)
  t.regex(errorLine(none), /EMPTY_DATA/)
  const notModel = await corml(['info', bad])
  t.is(notModel.code, 3)
  t.regex(errorLine(notModel), /^corml info: INVALID_MODEL_FILE: /)
  const noInfo = await corml(['info', join(dir, 'none.corml')])
  t.is(noInfo.code, 3)
  t.regex(errorLine(noInfo), /^corml info: IO_ERROR: /)
  const noModel = await corml(['recommend', join(dir, 'none.corml'), '--user', 'u1'])
  t.is(noModel.code, 3)
  t.regex(errorLine(noModel), /IO_ERROR/)
})

test('train, info and recommend: a saved model serves users and histories', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'sample.corml')
  const trained = await corml([
    'train',
    SAMPLE,
    '-o',
    file,
    '--preset',
    'gowalla',
    ...FAST,
    '--quiet',
  ])
  t.is(trained.code, 0, trained.stderr)
  t.is(trained.stderr, '', '--quiet prints nothing on stderr')
  t.regex(trained.stdout, /CoRML trained on cpu .* in /)
  t.regex(trained.stdout, /saved .*sample\.corml \(\d+\.\d MiB, fingerprint [0-9a-f]{16}\)/)

  const info = await corml(['info', file])
  t.is(info.code, 0)
  t.regex(info.stdout, /algorithm\s+CoRML/)
  t.regex(info.stdout, /users\s+800\n/)
  t.regex(info.stdout, /items\s+500\n/)
  t.regex(info.stdout, /written by\s+corml-native \d+\.\d+\.\d+/)
  t.regex(
    info.stdout,
    /settings\s+lambda 0\.8, dualStepLength 5000, .*itemDegreeNorm 0\.1, .*eigenvectors 16, admmIterations 5, partitionRatio 0\.35/,
  )
  const json = JSON.parse((await corml(['info', file, '--json'])).stdout) as Record<string, unknown>
  t.is(json.users, 800)
  t.is(json.algorithm, 'corml')
  t.deepEqual((json.settings as Record<string, unknown>).sparseApprox, true)

  const recs = await corml(['recommend', file, '--user', 'user0', '-k', '5'])
  t.is(recs.code, 0, recs.stderr)
  t.regex(recs.stdout, /top 5 for user user0:\nrank\s+item\s+score/)
  t.is(recs.stdout.trim().split('\n').length, 2 + 1 + 5)
  const asJson = JSON.parse(
    (await corml(['recommend', file, '-u', 'user0', '-k', '5', '--json'])).stdout,
  ) as {
    items: { item: string; score: number }[]
  }
  t.is(asJson.items.length, 5)
  t.true(recs.stdout.includes(asJson.items[0]!.item))
  const two = await corml([
    'recommend',
    file,
    '-u',
    'user0',
    '-u',
    'user1',
    '-k',
    '3',
    '--exclude',
    asJson.items[0]!.item,
  ])
  t.is(two.code, 0)
  t.false(two.stdout.split('\n').some((l) => l.split(/\s+/)[1] === asJson.items[0]!.item))
  t.regex(two.stdout, /top 3 for user user1/)
  const history = await corml(['recommend', file, '--history', 'item3,item139,nope', '-k', '4'])
  t.is(history.code, 0)
  t.regex(history.stdout, /top 4 for history of 3 items/)
  t.regex(history.stderr, /1 history items unknown to the model were ignored/)

  const unknown = await corml(['recommend', file, '--user', 'nobody'])
  t.is(unknown.code, 3)
  t.regex(errorLine(unknown), /^corml recommend: UNKNOWN_USER: /)
  await usage(t, ['recommend', file], /give --user <id> \(one or more\) or --history <ids>/)
  await usage(t, ['recommend', file, '--user', 'a', '--history', 'b'], /not both or neither/)
  await usage(t, ['recommend', file, '--history', 'a,,b'], /empty id/)
  await usage(t, ['recommend', file, '--user', 'user0', '-k', '0'], /integer ≥ 1/)
})

test('eval prints a Table-2-style table for every model', async (t) => {
  const r = await corml(['eval', SAMPLE, '--model', 'all', ...FAST, '--ks', '10,20'])
  t.is(r.code, 0, r.stderr)
  const lines = r.stdout.trim().split('\n')
  t.regex(lines[0]!, /^model\s+K\s+NDCG\s+MRR\s+Recall\s+Novelty\s+train s$/)
  t.is(lines.length, 2 + 3 * 2)
  for (const name of ['GF-CF', 'EASE', 'CoRML'])
    t.regex(r.stdout, new RegExp(`\\n${name}\\s+10\\s+0\\.\\d{4}`))
  t.regex(r.stderr, /data: 800 users, 500 items, 16,155 interactions/)
  t.regex(
    r.stderr,
    /split \(random 0\.6\/0\.2\/0\.2, seed 2026\): train 10,331, valid 2,912, test 2,912/,
  )
  const json = JSON.parse((await corml(['eval', SAMPLE, ...FAST, '--json', '-q'])).stdout) as {
    model: string
    metrics: { k: number; ndcg: number }[]
  }[]
  t.is(json[0]!.model, 'corml')
  t.deepEqual(
    json[0]!.metrics.map((m) => m.k),
    [5, 10, 20],
  )
})

test('Ctrl-C stops the work with exit code 130', async (t) => {
  const controller = new AbortController()
  controller.abort()
  const r = await corml(['eval', SAMPLE], { signal: controller.signal })
  t.is(r.code, 130)
  t.regex(errorLine(r), /^corml eval: ABORTED: /)
})

test('a terminal gets a progress bar, cleared when done', async (t) => {
  const ok = await corml(['eval', SAMPLE], { isTTY: true })
  t.is(ok.code, 0)
  t.regex(ok.stderr, /\r\x1b\[Ktraining CoRML [█░]+ +\d+%/)
  t.regex(ok.stderr, /\r\x1b\[Ktraining CoRML: done in/)
})

test('the executable exits with the code and prints one line', (t) => {
  const main = join(import.meta.dirname, '../src/cli/main.ts')
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', main, 'eval', SAMPLE, '--lambda', 'x'],
    {
      encoding: 'utf8',
    },
  )
  t.is(r.status, 2)
  t.is(r.stdout, '')
  t.regex(r.stderr, /^corml eval: USAGE: option '--lambda <x>' argument 'x' is invalid/)
  t.is(r.stderr.trim().split('\n').length, 2)
  const ok = spawnSync(process.execPath, ['--import', 'tsx', main, 'info', '--help'], {
    encoding: 'utf8',
  })
  t.is(ok.status, 0)
  t.true(existsSync(main))
  t.regex(readFileSync(main, 'utf8'), /^#!\/usr\/bin\/env node/)
})
