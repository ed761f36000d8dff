/** The workspace pages' entry: renders the page the server's shell names, at the URL's place. */
import { render } from 'preact';
import { BillingPage } from './billing/billing-page';
import { readPlace } from './shared/place';
import { UsagePage } from './usage/usage-page';
import './styles.css';

const root = document.getElementById('workspace')!;
const place = readPlace(location.search);
render(root.dataset.page === 'usage' ? <UsagePage place={place} /> : <BillingPage place={place} />, root);
