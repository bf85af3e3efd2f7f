import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { VitePWA } from 'vite-plugin-pwa';
import { cspText } from './scripts/csp.js';

export default defineConfig({
  plugins: [
    svelte(),
    {
      // The built app carries its Content Security Policy (scripts/csp.ts); the dev server injects
      // its styles inline for hot reload, so it goes without.
      name: 'wattwall-csp',
      apply: 'build',
      transformIndexHtml: (html) => {
        const charset = '<meta charset="UTF-8" />';
        if (!html.includes(charset)) throw new Error('index.html: the CSP goes right after <meta charset="UTF-8" />, which is missing');
        // Before every script and stylesheet, so the policy covers them all.
        return html.replace(charset, `${charset}\n    <meta http-equiv="Content-Security-Policy" content="${cspText()}" />`);
      },
    },
    VitePWA({
      // A live bus session and unsaved settings must never be reloaded under the user's feet:
      // a new version waits until the user accepts the prompt.
      registerType: 'prompt',
      injectRegister: false,
      manifest: {
        name: 'Wattwall energy manager',
        short_name: 'Wattwall',
        description: 'Live power, energy and control for every load on your CAN meter bus.',
        lang: 'en',
        start_url: './',
        scope: './',
        display: 'fullscreen',
        display_override: ['fullscreen', 'standalone'],
        orientation: 'any',
        background_color: '#0f1720',
        theme_color: '#0f1720',
        categories: ['utilities', 'productivity'],
        icons: [
          { src: 'pwa-64x64.png', sizes: '64x64', type: 'image/png' },
          { src: 'pwa-192x192.png', sizes: '192x192', type: 'image/png' },
          { src: 'pwa-512x512.png', sizes: '512x512', type: 'image/png' },
          { src: 'maskable-icon-512x512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      workbox: {
        // The meter core (wasm) is part of the shell: the demo bus must work offline too.
        globPatterns: ['**/*.{js,css,html,svg,png,wasm,webmanifest}'],
        navigateFallback: 'index.html',
        cleanupOutdatedCaches: true,
      },
    }),
  ],
  // The demo bus's worker imports its modules like the page does (code-split ES modules).
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    sourcemap: true,
  },
  server: { port: 5173 },
  preview: { port: 4173, strictPort: true },
});
