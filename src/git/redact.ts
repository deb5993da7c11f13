/**
 * Replaces the secrets a URL can carry so they never reach logs, the state
 * database, the status page or notifications: `user:token@` becomes `***@`,
 * every query value `***` (`?private_token=***`) and the fragment `#***`.
 */
export function redactCredentials(text: string): string {
  return text.replace(
    /([a-z][a-z0-9+.-]*:\/\/)([^\s'"<>`]+)/gi,
    (_, scheme: string, rest: string) => scheme + redactUrlRest(rest),
  );
}

/** The part of a URL after `scheme://`, with credentials, query values and fragment hidden. */
function redactUrlRest(rest: string): string {
  let text = rest.replace(/^[^/@]+@/, "***@");
  const hash = text.indexOf("#");
  if (hash !== -1) text = `${text.slice(0, hash)}#***`;
  const question = text.indexOf("?");
  if (question === -1) return text;
  const end = text.indexOf("#", question);
  const query = text.slice(question + 1, end === -1 ? undefined : end);
  const hidden = query.split("&").map((pair) => {
    if (pair === "") return pair;
    const equals = pair.indexOf("=");
    return equals === -1 ? "***" : `${pair.slice(0, equals)}=***`;
  }).join("&");
  return `${text.slice(0, question)}?${hidden}${
    end === -1 ? "" : text.slice(end)
  }`;
}
