// `twopc/server`: what embedding a coordinator needs. The SDK is the
// package `twopc` (packages/sdk) and loads none of this.
export { loadConfig } from './config.ts';
export type { Config } from './config.ts';
export { startApp } from './app.ts';
export type { App } from './app.ts';
