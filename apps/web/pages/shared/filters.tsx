/**
 * Filters are plain GET forms: applying one loads the page at a URL that names it, so a filtered
 * view can be linked and the back button works. A select never submits by itself: stepping through
 * options with the keyboard must not reload the page at every step.
 */
import type { AccountList } from './api-types';
import type { Place } from './place';

/** Hidden fields for the parts of the place a form does not change. */
export function Keep({ place, except }: { place: Place; except: Array<keyof Place> }) {
  return (
    <>
      {Object.entries(place)
        .filter(([name, value]) => value && !except.includes(name as keyof Place))
        .map(([name, value]) => (
          <input key={name} type="hidden" name={name} value={value} />
        ))}
    </>
  );
}

export function ProjectFilter(props: { place: Place; projects: Array<{ projectId: string; name: string | null }> }) {
  const { place } = props;
  return (
    <form method="get" class="filters" aria-label="Project filter">
      <Keep place={place} except={['project', 'cursor']} />
      <label for="project">Project</label>
      <select id="project" name="project" value={place.project ?? ''}>
        <option value="">All projects (whole account)</option>
        {props.projects.map((p) => (
          <option key={p.projectId} value={p.projectId}>
            {p.name ? `${p.name} (${p.projectId})` : p.projectId}
          </option>
        ))}
      </select>
      <button type="submit">Apply</button>
    </form>
  );
}

export function AccountPicker({
  place,
  accounts,
  current,
}: {
  place: Place;
  accounts: AccountList['accounts'];
  current: string;
}) {
  if (accounts.length < 2) return null;
  return (
    <form method="get" class="filters" aria-label="Choose an account">
      <Keep place={place} except={['account', 'project', 'cursor']} />
      <label for="account">Account</label>
      <select id="account" name="account" value={current}>
        {accounts.map((a) => (
          <option key={a.accountId} value={a.accountId}>
            {a.name} ({a.accountId})
          </option>
        ))}
      </select>
      <button type="submit">Open</button>
    </form>
  );
}
