// Paths under /ui/ (the server answers index.html for all of them): history API, no hashes.
import { useEffect, useState } from "preact/hooks";

export const BASE = "/ui";

export function navigate(path) {
  history.pushState(null, "", BASE + path);
  dispatchEvent(new PopStateEvent("popstate"));
}

export function usePath() {
  const read = () => location.pathname.slice(BASE.length) || "/";
  const [path, setPath] = useState(read());
  useEffect(() => {
    const on = () => setPath(read());
    addEventListener("popstate", on);
    return () => removeEventListener("popstate", on);
  }, []);
  return path;
}

/** A link that navigates inside the app (and still works with a middle click). */
export function Link({ to, children, ...rest }) {
  const click = (event) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    navigate(to);
  };
  return (
    <a href={BASE + to} onClick={click} {...rest}>
      {children}
    </a>
  );
}

// Route pieces are %-encoded names; a namespace is its levels joined by 0x1F.
export const enc = encodeURIComponent;
export const encNs = (levels) => encodeURIComponent(levels.join("\x1f"));
export const decNs = (part) => decodeURIComponent(part).split("\x1f");
