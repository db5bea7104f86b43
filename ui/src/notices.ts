/**
 * Short notices of what an action did ("unbanned 198.51.100.7", an error), shown in a fixed
 * place over the page (no layout shift) and gone after a few seconds.
 */
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';

interface Notice {
  id: number;
  text: string;
  error: boolean;
}

const listeners = new Set<(n: Notice) => void>();
let next = 1;

export function notify(text: string, error = false): void {
  const n = { id: next++, text, error };
  for (const l of listeners) l(n);
}

export function Notices() {
  const [items, setItems] = useState<Notice[]>([]);
  useEffect(() => {
    const l = (n: Notice) => {
      setItems((xs) => [...xs.slice(-3), n]);
      setTimeout(() => setItems((xs) => xs.filter((x) => x.id !== n.id)), n.error ? 8000 : 4000);
    };
    listeners.add(l);
    return () => listeners.delete(l);
  }, []);
  return html`<div class="notices" role="status" aria-live="polite">
    ${items.map((n) => html`<p key=${n.id} class=${n.error ? 'notice error' : 'notice'}>${n.text}</p>`)}
  </div>`;
}
