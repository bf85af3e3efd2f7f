import { defineConfig, minimal2023Preset } from '@vite-pwa/assets-generator/config';

// `npm run icons` renders the app icons from public/favicon.svg; the PNGs are committed.
export default defineConfig({
  headLinkOptions: { preset: '2023' },
  preset: {
    ...minimal2023Preset,
    maskable: { ...minimal2023Preset.maskable, resizeOptions: { background: '#0f1720' } },
    apple: { ...minimal2023Preset.apple, resizeOptions: { background: '#0f1720' } },
  },
  images: ['public/favicon.svg'],
});
