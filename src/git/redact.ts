/** Replaces credentials in URLs (`https://user:token@host`) so they never reach logs or the DB. */
export function redactCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, "$1***@");
}
