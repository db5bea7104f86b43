/**
 * "Ban an address": a modal <dialog> with the address, a duration picker and a reason, posting to
 * /v1/bans. The server checks everything again (an allowlisted or special address is refused
 * with its reason, shown here).
 */
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.ts';
import { notify } from './notices.ts';

export const DURATIONS: Array<[string, string]> = [
  ['10m', '10 minutes'],
  ['1h', '1 hour'],
  ['6h', '6 hours'],
  ['1d', '1 day'],
  ['7d', '7 days'],
  ['30d', '30 days'],
  ['permanent', 'permanent'],
];

export function BanDialog(props: { open: boolean; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [address, setAddress] = useState('');
  const [duration, setDuration] = useState('1h');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) {
      setError(null);
      d.showModal();
    } else if (!props.open && d.open) d.close();
  }, [props.open]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      await api('POST', '/v1/bans', { address: address.trim(), duration, reason: reason.trim() || 'manual' });
      notify(`banned ${address.trim()}`);
      setAddress('');
      setReason('');
      props.onClose();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return html`<dialog ref=${ref} class="dialog" data-testid="ban-dialog" onClose=${props.onClose}>
    <form onSubmit=${submit}>
      <h2>Ban an address</h2>
      <label>Address or prefix
        <input name="address" required placeholder="198.51.100.7 or 2001:db8::/64" value=${address}
          onInput=${(e: Event) => setAddress((e.target as HTMLInputElement).value)} />
      </label>
      <label>Duration
        <select name="duration" value=${duration} onChange=${(e: Event) => setDuration((e.target as HTMLSelectElement).value)}>
          ${DURATIONS.map(([v, label]) => html`<option value=${v}>${label}</option>`)}
        </select>
      </label>
      <label>Reason
        <input name="reason" placeholder="manual" value=${reason} onInput=${(e: Event) => setReason((e.target as HTMLInputElement).value)} />
      </label>
      <p class="error" role="alert">${error ?? ''}</p>
      <div class="buttons">
        <button type="button" onClick=${props.onClose}>Cancel</button>
        <button type="submit" class="primary" disabled=${busy}>Ban</button>
      </div>
    </form>
  </dialog>`;
}
