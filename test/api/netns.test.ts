/** The namespace suite (netns-suite.ts) with the API in its worker thread: the default. */
import { defineNetnsSuite } from './netns-suite.ts';

defineNetnsSuite(true);
