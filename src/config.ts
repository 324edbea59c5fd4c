/**
 * Types of `plugins.CapacitorUpdater` in `capacitor.config.ts`.
 *
 * Invariant: Capgo's keys keep their names, defaults and meanings (DESIGN §9); Airlock's own keys are marked
 * "Airlock". The native agent reads this object; unknown keys are logged and ignored, a wrong type stops start-up
 * with a message naming the key. Do not install `@capgo/capacitor-updater` next to this package: both declare
 * `CapacitorUpdater` here.
 *
 * @module
 */

import type {} from '@capacitor/cli';

/** Automatic update modes (`autoUpdate`). `true` means `"atBackground"`, `false` means `"off"`. */
export type AutoUpdateMode = 'off' | 'atBackground' | 'atInstall' | 'onLaunch' | 'always' | 'onlyDownload';

/** `plugins.CapacitorUpdater` of `capacitor.config`. */
export interface CapacitorUpdaterConfig {
  /** Milliseconds the page has to call `notifyAppReady()` before the bundle is rolled back. Default 10000. */
  appReadyTimeout?: number;
  /** Network timeout in seconds. Default 20. */
  responseTimeout?: number;
  /** Delete a bundle once it has been rolled back. Default true. */
  autoDeleteFailed?: boolean;
  /** Delete the previous good bundle once a new one is confirmed. Default true. */
  autoDeletePrevious?: boolean;
  /** When the agent checks, downloads and applies by itself. Default `true` (`"atBackground"`). */
  autoUpdate?: boolean | AutoUpdateMode;
  /** @deprecated Capgo's old switch; use `autoUpdate`. */
  directUpdate?: boolean | 'atInstall' | 'always' | 'onLaunch';
  /** Go back to the builtin bundle and delete downloads when the native app is updated. Default true. */
  resetWhenUpdate?: boolean;
  /** Update-check endpoint (Capgo protocol). */
  updateUrl?: string;
  /** Channel endpoint (Capgo protocol). */
  channelUrl?: string;
  /** Stats endpoint; `""` turns stats off. */
  statsUrl?: string;
  /** Capgo's RSA key for encrypted bundles. Airlock ignores it (see `encryptionKey`). */
  publicKey?: string;
  /** Version name of the builtin bundle, instead of the native version name. */
  version?: string;
  /** App id sent to the update source, instead of the native app id. */
  appId?: string;
  /** Channel this device reads until `setChannel()` is called. Default `"production"`. */
  defaultChannel?: string;
  /** Whether `setChannel()` may change the channel. Default true. */
  allowSetDefaultChannel?: boolean;
  /** Seconds between checks while the app is in the foreground; 0 turns them off, values under 600 mean 600. */
  periodCheckDelay?: number;
  /** Keep the custom id of `setCustomId()` across restarts. Default false. */
  persistCustomId?: boolean;
  /** Reload into the same route after an update (the package keeps a history stack for it). Default false. */
  keepUrlPathAfterReload?: boolean;
  /** Capgo keys Airlock accepts and ignores. */
  autoSplashscreen?: boolean;
  autoSplashscreenLoader?: boolean;
  autoSplashscreenTimeout?: number;
  allowModifyUrl?: boolean;
  persistModifyUrl?: boolean;
  allowModifyAppId?: boolean;
  allowManualBundleError?: boolean;
  allowPreview?: boolean;
  persistDefaultChannelOnReinstall?: boolean;
  disableJSLogging?: boolean;
  osLogging?: boolean;
  shakeMenu?: boolean;
  shakeMenuGesture?: 'shake' | 'threeFingerPinch';
  allowShakeChannelSelector?: boolean;
  localS3?: boolean;
  localHost?: string;
  localWebHost?: string;
  localSupa?: string;
  localSupaAnon?: string;
  localApi?: string;
  localApiFiles?: string;
  /** Airlock: where offers come from, a static signed catalog or a Capgo-protocol server. Default `"capgo"`. */
  source?: 'catalog' | 'capgo';
  /** Airlock: root of the published repository; the device reads `<catalogUrl>/<appId>/channels/<channel>.json`. */
  catalogUrl?: string;
  /** Airlock: ed25519 public keys (base64, 32 bytes) trusted to sign catalogs and releases. */
  trustedKeys?: string[];
  /** Airlock: number of distinct trusted keys that must sign. Default 1. */
  signatureThreshold?: number;
  /** Airlock: allow plain `http://` URLs (development only). Default false. */
  allowInsecureHttp?: boolean;
  /** Airlock: key (base64, 32 bytes) that decrypts encrypted bundles. */
  encryptionKey?: string;
  /** Airlock: loads without `notifyAppReady()` before a bundle is rolled back. Default 2. */
  maxBootAttempts?: number;
  /** Airlock: re-hash every file at every launch instead of the first launch only. Default false. */
  strictVerify?: boolean;
}

declare module '@capacitor/cli' {
  interface PluginsConfig {
    /** Airlock live updates (`@airlock/capacitor-updater`). */
    CapacitorUpdater?: CapacitorUpdaterConfig;
  }
}
