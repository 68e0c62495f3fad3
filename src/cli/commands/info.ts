/**
 * `corml info model.corml`: what a model file holds (sizes, settings, data fingerprint, version).
 *
 * @packageDocumentation
 */

import { statSync } from 'node:fs'

import { Command } from 'commander'

import { loadModel } from '../../models.js'
import { addCommonOptions } from '../common.js'
import type { CommonFlags } from '../common.js'
import type { CliIo } from '../io.js'
import { DISPLAY } from '../model-flags.js'
import { duration } from '../progress.js'

interface InfoFlags extends CommonFlags {
  json?: boolean
}

const count = (n: number): string => n.toLocaleString('en-US')

/** The `info` command. */
export function infoCommand(io: CliIo): Command {
  const command = new Command('info')
    .summary('sizes, settings, data fingerprint and version of a model file')
    .argument('<model>', 'model file')
    .option('--json', 'print JSON')
  addCommonOptions(command)
  return command.action(async (file: string, flags: InfoFlags) => {
    const model = await loadModel(file) // IO_ERROR / INVALID_MODEL_FILE first
    const bytes = statSync(file).size
    const info = model.info
    const users = model.userIds().length
    const items = model.itemIds().length
    if (flags.json) {
      io.stdout(`${JSON.stringify({ file, bytes, users, items, ...info }, null, 2)}\n`)
      return
    }
    const rows: [string, string][] = [
      ['file', `${file} (${(bytes / 2 ** 20).toFixed(1)} MiB)`],
      ['algorithm', DISPLAY[info.algorithm]],
      ['written by', `corml-native ${info.version}`],
      ['users', count(users)],
      ['items', count(items)],
      ['data fingerprint', info.fingerprint],
      [
        'trained on',
        `${info.backend} in ${duration(info.seconds)}${info.deviceFallback ? ` (${info.deviceFallback})` : ''}`,
      ],
      ['stages', info.stages.map((s) => `${s.stage} ${s.seconds.toFixed(1)} s`).join(', ')],
    ]
    if (info.algorithm === 'corml') {
      rows.push(
        ['parts', `${info.partSizes.length}: ${info.partSizes.map(count).join(', ')} items`],
        ['ADMM solvers', info.admmSolvers.join('; ')],
        ['H entries', count(info.nnz)],
      )
    } else if (info.algorithm === 'ease') {
      rows.push(['B entries', count(info.nnz)])
    }
    rows.push([
      'settings',
      Object.entries(info.settings)
        .map(([k, v]) => `${k} ${String(v)}`)
        .join(', '),
    ])
    const width = Math.max(...rows.map(([k]) => k.length))
    io.stdout(rows.map(([k, v]) => `${k.padEnd(width)}  ${v}\n`).join(''))
  })
}
