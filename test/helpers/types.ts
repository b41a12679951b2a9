/** Type-level checks for tests that tie two declarations of one shape together. */

/** True only when A and B are the same type (not merely assignable). */
export type Same<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
