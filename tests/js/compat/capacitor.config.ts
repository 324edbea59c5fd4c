/** A Capgo user's `capacitor.config.ts`: it must type-check unchanged against both packages. */
import type { CapacitorConfig } from '@capacitor/cli';

const config: CapacitorConfig = {
  appId: 'com.example.app',
  appName: 'Example',
  webDir: 'dist',
  plugins: {
    CapacitorUpdater: {
      appReadyTimeout: 10000,
      responseTimeout: 20,
      autoDeleteFailed: true,
      autoDeletePrevious: true,
      autoUpdate: 'atBackground',
      resetWhenUpdate: true,
      updateUrl: 'https://updates.example.invalid/updates',
      statsUrl: '',
      channelUrl: 'https://updates.example.invalid/channel_self',
      defaultChannel: 'production',
      allowSetDefaultChannel: true,
      periodCheckDelay: 600,
      version: '1.0.0',
      persistCustomId: true,
      keepUrlPathAfterReload: true,
    },
  },
};

export default config;
