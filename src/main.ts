import { mount } from 'svelte';
import { i18n } from './state/i18n.svelte';
import App from './ui/App.svelte';
import './ui/theme.css';

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element');

// The user's language first (Italian loads on demand), then the app.
await i18n.init();
export default mount(App, { target });
