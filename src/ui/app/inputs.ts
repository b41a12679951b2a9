/**
 * Small helpers of the dashboard's forms: an input's value into state, and times as a
 * `datetime-local` input spells them (the browser's zone) and back as ISO-8601.
 */

/** An input's handler that stores its value. */
export function inputTo(store: (value: string) => void) {
  return (event: Event) => {
    const target = event.currentTarget;
    if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement) {
      store(target.value);
    } else if (target instanceof HTMLSelectElement) store(target.value);
  };
}

/** A time as a `datetime-local` input spells it, in the browser's zone. */
export function localInput(time: Date): string {
  const local = new Date(time.getTime() - time.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

/** A `datetime-local` value as ISO-8601 (UTC), or undefined when empty. */
export function isoOf(local: string): string | undefined {
  return local ? new Date(local).toISOString() : undefined;
}
