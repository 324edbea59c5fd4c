/**
 * Airlock's additions, as an app uses them after switching (compiled with tsconfig.airlock.json, where the
 * Capgo import name points at Airlock's published types): attributes, the typed Airlock config keys, the
 * parity lists, and the ready-token option. The `@ts-expect-error` lines prove the types reject mistakes.
 */

import type { CapacitorConfig } from '@capacitor/cli';
import {
  CapacitorUpdater,
  SUPPORTED_METHODS,
  UNIMPLEMENTED_METHODS,
  readReadyToken,
  type AttributesResult,
  type CapacitorUpdaterConfig,
  type SupportedMethod,
} from '@capgo/capacitor-updater';

export async function segment(): Promise<string | undefined> {
  await CapacitorUpdater.setAttributes({ attributes: { plan: 'pro', cohort: '2026-q1' } });
  const { attributes }: AttributesResult = await CapacitorUpdater.getAttributes();
  // @ts-expect-error attribute values are strings
  await CapacitorUpdater.setAttributes({ attributes: { beta: true } });
  return attributes['plan'];
}

export async function readyWithExplicitToken(): Promise<string> {
  const token = readReadyToken() ?? 'none';
  const { bundle } = await CapacitorUpdater.notifyAppReady({ token });
  // @ts-expect-error the token is a string
  await CapacitorUpdater.notifyAppReady({ token: 42 });
  return bundle.id;
}

export const airlockConfig: CapacitorConfig = {
  appId: 'com.example.app',
  appName: 'Example',
  webDir: 'dist',
  plugins: {
    CapacitorUpdater: {
      source: 'catalog',
      catalogUrl: 'https://cdn.example.invalid/airlock',
      trustedKeys: ['MCowBQYDK2VwAyEAexampleexampleexampleexampleexampleexa='],
      signatureThreshold: 1,
      allowInsecureHttp: false,
      encryptionKey: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
      maxBootAttempts: 2,
      strictVerify: false,
      autoUpdate: 'onLaunch',
    },
  },
};

export const wrongSource: CapacitorUpdaterConfig = {
  // @ts-expect-error only "catalog" and "capgo" exist
  source: 'cdn',
};

export const wrongTimeout: CapacitorUpdaterConfig = {
  // @ts-expect-error appReadyTimeout is a number of milliseconds
  appReadyTimeout: '10s',
};

export const wrongMode: CapacitorConfig = {
  plugins: {
    CapacitorUpdater: {
      // @ts-expect-error not an autoUpdate mode
      autoUpdate: 'sometimes',
    },
  },
};

export const parity: readonly SupportedMethod[] = SUPPORTED_METHODS;
export const extras: number = UNIMPLEMENTED_METHODS.length;
