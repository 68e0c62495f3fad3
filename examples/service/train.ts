/**
 * The example service's retraining job, run by the service's primary in a child process of its
 * own (so that training never shares a thread pool or an event loop with serving): reads the
 * interactions, trains the served model's algorithm with the served model's settings, and saves
 * the result atomically over the model file (a rename, so that mapped readers keep the old
 * pages). Prints one JSON line with what it did.
 *
 * ```sh
 * tsx examples/service/train.ts --data interactions.tsv --model model.corml [--threads 1]
 * ```
 */
import { parseArgs } from 'node:util'

import { CoRML, Dataset, EASE, GFCF, loadModel, setThreads } from 'corml-native'

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    model: { type: 'string' },
    threads: { type: 'string' },
  },
})
if (values.data === undefined || values.model === undefined) {
  console.error('usage: train.ts --data interactions.tsv --model model.corml [--threads N]')
  process.exit(2)
}
if (values.threads !== undefined) setThreads(Number(values.threads))

const started = performance.now()
const served = await loadModel(values.model)
const { algorithm, settings } = served.info
const data = await Dataset.fromFile(values.data)
const fit = { corml: CoRML.fit, ease: EASE.fit, gfcf: GFCF.fit }[algorithm]
const model = await fit(data, settings as never)
await model.save(values.model)
console.log(
  JSON.stringify({
    algorithm,
    users: model.numUsers,
    items: model.numItems,
    fingerprint: model.info.fingerprint,
    seconds: (performance.now() - started) / 1000,
  }),
)
