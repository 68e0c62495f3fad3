/**
 * What this process can compute on: the CUDA probe and where `device: 'auto'` runs.
 *
 * @packageDocumentation
 */

import { native, nativeAsync } from './errors.js'
import { backendInfo as nativeBackendInfo } from './native/index.cjs'

/**
 * One CUDA library the backend loads at run time.
 *
 * @example
 * ```ts
 * const missing = (await backendInfo()).libraries.filter((l) => !l.found).map((l) => l.name)
 * ```
 */
export interface CudaLibrary {
  /** `'cuda'` (the driver), `'cublas'`, `'cusolver'` or `'nvrtc'`. */
  readonly name: string
  /** Whether it loaded. */
  readonly found: boolean
  /** The directory it was loaded from, when it was not on the loader's default path. */
  readonly directory?: string
  /**
   * Its version, e.g. `'12.4'`: for NVRTC the one the kernels are compiled with, for cuBLAS the
   * one that loads. Neither may be of a newer CUDA major version than the driver's.
   */
  readonly version?: string
}

/**
 * One CUDA device.
 *
 * @example
 * ```ts
 * const [gpu] = (await backendInfo()).devices
 * if (gpu) console.log(`${gpu.name}: ${(gpu.totalMemory / 2 ** 30).toFixed(0)} GiB`)
 * ```
 */
export interface CudaDevice {
  /** Its ordinal: pass `` `cuda:${ordinal}` `` as `device`. */
  readonly ordinal: number
  /** Its name, e.g. `'NVIDIA H200'`. */
  readonly name: string
  /** Compute capability, e.g. `'9.0'`. */
  readonly computeCapability: string
  /** Total memory in bytes. */
  readonly totalMemory: number
}

/**
 * What {@link backendInfo} reports.
 *
 * @example
 * ```ts
 * const info: BackendInfo = await backendInfo()
 * if (!info.cudaAvailable) console.log(`CPU only: ${info.cudaUnavailableReason}`)
 * ```
 */
export interface BackendInfo {
  /** Where `device: 'auto'` runs: `'cuda:0'` or `'cpu'`. */
  readonly auto: 'cpu' | 'cuda:0'
  /** Threads of the CPU backend (`RAYON_NUM_THREADS` sets it). */
  readonly cpuThreads: number
  /** Whether this build has the CUDA backend (the x86-64 Linux glibc and Windows builds do). */
  readonly cudaCompiled: boolean
  /** Whether `device: 'cuda'` can be used. */
  readonly cudaAvailable: boolean
  /** Why not, when it cannot (no driver, no device, a missing library, an old GPU). */
  readonly cudaUnavailableReason?: string
  /** The CUDA version the NVIDIA driver supports, e.g. `'13.0'`. */
  readonly driverCudaVersion?: string
  /** The libraries looked for (empty when CUDA is not compiled in). */
  readonly libraries: readonly CudaLibrary[]
  /** The devices the driver reports. */
  readonly devices: readonly CudaDevice[]
}

function freeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) freeze(v)
    Object.freeze(value)
  }
  return value
}

/**
 * Probes the CUDA driver, libraries and devices (off the main thread) and says where
 * `device: 'auto'` would run. Never rejects: a machine without CUDA gets
 * `cudaAvailable: false` and the reason. Libraries outside the loader's path are looked for in
 * `CORML_CUDA_LIB_DIR`, `CUDA_HOME`/`CUDA_PATH` and `/usr/local/cuda*`.
 *
 * @example
 * ```ts
 * import { backendInfo, CoRML } from 'corml-native'
 *
 * const info = await backendInfo()
 * console.log(info.auto) // 'cuda:0' on a GPU machine, else 'cpu'
 * const model = await CoRML.fit(train, { device: info.cudaAvailable ? 'cuda' : 'cpu' })
 * ```
 */
export async function backendInfo(): Promise<BackendInfo> {
  return freeze((await nativeAsync(native(() => nativeBackendInfo()))) as BackendInfo)
}
