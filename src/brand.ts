/**
 * Brands on the public classes, so that an object of another copy of corml-native (its CommonJS
 * build next to its ESM build, the dual-package hazard, or a second installed version) gets a
 * message that says so instead of "not a Dataset".
 *
 * @internal
 * @packageDocumentation
 */

declare const module: unknown

/** Which build this module was compiled into. */
const BUILD: string = typeof module === 'object' && module !== null ? 'CommonJS' : 'ESM'

const key = (kind: string): symbol => Symbol.for(`corml-native.${kind}`)

/** Marks `prototype` as this build's `kind` (`Dataset`, `model`). */
export function brand(prototype: object, kind: string): void {
  Object.defineProperty(prototype, key(kind), { value: BUILD })
}

/**
 * When `value` is a `kind` of another copy of corml-native, a description of it for an error
 * message that says what to do; else `undefined`.
 */
export function foreignCopy(value: unknown, kind: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const theirs: unknown = (value as Record<symbol, unknown>)[key(kind)]
  if (typeof theirs !== 'string') return undefined
  const which = theirs === BUILD ? 'another copy of' : `the ${theirs} build of`
  return (
    `a ${kind} from ${which} corml-native (this is its ${BUILD} build, and each copy has its ` +
    'own classes): load corml-native one way throughout, all `import` or all `require`, from ' +
    'one installed copy'
  )
}
