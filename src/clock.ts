/**
 * Time is read through one replaceable function; pure code takes `nowMs` as a parameter.
 *
 * The daemon decides and expires on a clock that reads like the wall clock (epoch milliseconds,
 * so the store's times are human-readable) but runs on CLOCK_MONOTONIC: a step of the wall clock
 * (NTP, an admin's `date -s`) moves neither who is banned nor when a ban ends, as the kernel's
 * element timeouts (relative) do not move either. Every thread reads the same monotonic clock,
 * so the API worker and the main thread agree when they share the anchor.
 */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

/** Milliseconds on CLOCK_MONOTONIC (the same in every thread of the process). */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1_000_000n);
}

/** The wall clock minus the monotonic one, read now: what `anchoredClock` adds to monotonic time. */
export function wallAnchorMs(wall: () => number = Date.now, monotonic: () => number = monotonicMs): number {
  return wall() - monotonic();
}

/** Epoch-like milliseconds that advance with the monotonic clock from `anchorMs` on. */
export function anchoredClock(anchorMs: number, monotonic: () => number = monotonicMs): Clock {
  return () => anchorMs + monotonic();
}
