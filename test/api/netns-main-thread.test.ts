/** The namespace suite (netns-suite.ts) with the API in the daemon's main thread (`api.worker: false`). */
import { defineNetnsSuite } from './netns-suite.ts';

defineNetnsSuite(false);
