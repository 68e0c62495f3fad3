/**
 * `corml recommend model.corml --user <id> | --history a,b,c`: top-K items from a saved model.
 *
 * @packageDocumentation
 */

import { Command } from 'commander'

import { loadModel } from '../../models.js'
import type { Recommendation } from '../../recommender.js'
import { addCommonOptions } from '../common.js'
import type { CommonFlags } from '../common.js'
import type { CliIo } from '../io.js'
import { UsageError } from '../io.js'
import { collect, integerAtLeast } from '../options.js'
import { textTable } from '../table.js'

interface RecommendFlags extends CommonFlags {
  user?: string[]
  history?: string
  k: number
  filterSeen: boolean
  exclude?: string
  include?: string
  json?: boolean
}

/** Splits `a,b,c` into ids (no empty ones). */
function ids(text: string, option: string): string[] {
  const list = text.split(',').map((x) => x.trim())
  if (list.some((x) => x === ''))
    throw new UsageError(`--${option} has an empty id: ${JSON.stringify(text)}`)
  return list
}

/** The `recommend` command. */
export function recommendCommand(io: CliIo): Command {
  const command = new Command('recommend')
    .summary('top-K items for a user or a history, from a saved model')
    .description(
      'Loads a model written by `corml train` (or `model.save()`) and prints the top K items for ' +
        'each --user (a user of the training data) or for --history (any list of known items, ' +
        'e.g. a new visitor’s clicks).',
    )
    .argument('<model>', 'model file')
    .option('-u, --user <id>', 'a user id (repeat for several users)', collect)
    .option('--history <ids>', 'comma-separated item ids, instead of --user')
    .option('-k, --k <n>', 'how many items', integerAtLeast(1), 20)
    .option('--no-filter-seen', 'also recommend items the user already has')
    .option('--exclude <ids>', 'comma-separated item ids never to recommend')
    .option('--include <ids>', 'comma-separated item ids to choose from (only these)')
    .option('--json', 'print JSON')
  addCommonOptions(command)
  return command.action(async (file: string, flags: RecommendFlags) => {
    const users = flags.user ?? []
    if (users.length > 0 === (flags.history !== undefined)) {
      throw new UsageError('give --user <id> (one or more) or --history <ids>, not both or neither')
    }
    const model = await loadModel(file)
    const options = {
      k: flags.k,
      filterSeen: flags.filterSeen,
      ...(flags.exclude === undefined ? {} : { exclude: ids(flags.exclude, 'exclude') }),
      ...(flags.include === undefined ? {} : { include: ids(flags.include, 'include') }),
    }
    const results: {
      user?: string
      history?: string[]
      items: Recommendation[]
      ignored?: number
    }[] = []
    if (flags.history !== undefined) {
      const history = ids(flags.history, 'history')
      const r = model.recommendForHistory(history, options)
      results.push({ history, items: r.items, ignored: r.ignored })
    } else {
      for (const user of users) results.push({ user, items: model.recommend(user, options) })
    }
    if (flags.json) {
      io.stdout(`${JSON.stringify(results.length === 1 ? results[0] : results, null, 2)}\n`)
      return
    }
    for (const r of results) {
      const who = r.user !== undefined ? `user ${r.user}` : `history of ${r.history!.length} items`
      io.stdout(`top ${flags.k} for ${who}:\n`)
      if (r.ignored !== undefined && r.ignored > 0 && !flags.quiet) {
        io.stderr(`note: ${r.ignored} history items unknown to the model were ignored\n`)
      }
      io.stdout(
        r.items.length === 0
          ? '(no items: nothing eligible)\n'
          : textTable(
              ['rank', 'item', 'score'],
              r.items.map((x, i) => [String(i + 1), x.item, x.score.toFixed(6)]),
            ),
      )
    }
  })
}
