/** Time is read through one replaceable function; pure code takes `nowMs` as a parameter. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();
