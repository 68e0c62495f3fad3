/**
 * Fetches NVIDIA's NVRTC shared libraries (the `nvidia-cuda-nvrtc` wheel from PyPI, pinned by
 * version and SHA-256) into a directory, so that machines without a GPU or CUDA toolkit, such as
 * CI, can still compile the CUDA kernels: the `kernels_compile_with_nvrtc` test runs wherever
 * `CORML_CUDA_LIB_DIR` points to them. NVRTC needs no GPU and no driver.
 *
 *   tsx scripts/fetch-nvrtc.mts DIR     # exits 0 and prints DIR when the libraries are there
 *
 * Only for x86-64 Linux (the platform whose package ships the CUDA backend).
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { unzipSync } from 'fflate'

const WHEEL = 'nvidia_cuda_nvrtc-13.0.88-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl'
const SHA256 = 'ad9b6d2ead2435f11cbb6868809d2adeeee302e9bb94bcf0539c7a40d80e8575'
const INDEX = 'https://pypi.org/simple/nvidia-cuda-nvrtc/'
const WANTED = /^nvidia\/cu13\/lib\/(libnvrtc\.so\.13|libnvrtc-builtins\.so\.13\.0)$/

function fail(message: string): never {
  console.error(`fetch-nvrtc: ${message}`)
  process.exit(1)
}

const dir = process.argv[2] ?? fail('usage: tsx scripts/fetch-nvrtc.mts DIR')
if (process.platform !== 'linux' || process.arch !== 'x64') {
  fail(`the wheel is for x86-64 Linux, not ${process.platform}-${process.arch}`)
}
if (existsSync(join(dir, 'libnvrtc.so.13')) && existsSync(join(dir, 'libnvrtc-builtins.so.13.0'))) {
  console.log(dir)
  process.exit(0)
}

const index = await fetch(INDEX, { headers: { Accept: 'application/vnd.pypi.simple.v1+json' } })
if (!index.ok) fail(`${INDEX}: HTTP ${index.status}`)
const listing = (await index.json()) as { files: { filename: string; url: string }[] }
const file = listing.files.find((f) => f.filename === WHEEL) ?? fail(`${WHEEL} is not on ${INDEX}`)
const response = await fetch(file.url)
if (!response.ok) fail(`${file.url}: HTTP ${response.status}`)
const wheel = new Uint8Array(await response.arrayBuffer())
const digest = createHash('sha256').update(wheel).digest('hex')
if (digest !== SHA256) fail(`${WHEEL}: SHA-256 ${digest}, expected ${SHA256}`)

const entries = unzipSync(wheel, { filter: (f) => WANTED.test(f.name) })
const names = Object.keys(entries)
if (names.length !== 2) fail(`${WHEEL} holds ${names.join(', ') || 'none'} of the two libraries`)
mkdirSync(dir, { recursive: true })
for (const name of names) writeFileSync(join(dir, name.split('/').pop()!), entries[name]!)
console.log(dir)
