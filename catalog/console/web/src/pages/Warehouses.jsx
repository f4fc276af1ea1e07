import { api } from "../api.js";
import { Loading, useLoad } from "../common.jsx";
import { Link, enc } from "../router.jsx";

/** Admins list every warehouse; other tokens see the ones their grants name. */
async function warehouses(who) {
  try {
    const body = await api("/admin/v1/warehouses");
    return body.warehouses.map((w) => ({ name: w.name, location: w.location }));
  } catch (e) {
    if (e.status !== 403) throw e;
    const named = new Set();
    for (const g of who.grants) (g.warehouses || ["default"]).forEach((w) => named.add(w));
    return [...named].map((name) => ({ name, location: "" }));
  }
}

export function Warehouses({ who }) {
  const state = useWarehouses(who);
  return (
    <main>
      <h1>Warehouses</h1>
      <Loading state={state}>
        {(list) => (
          <ul class="cards">
            {list.map((w) => (
              <li key={w.name}>
                <Link to={`/w/${enc(w.name)}`}>{w.name}</Link>
                {w.location && <span class="muted mono"> {w.location}</span>}
              </li>
            ))}
          </ul>
        )}
      </Loading>
    </main>
  );
}

const useWarehouses = (who) => useLoad(() => warehouses(who), [who]);
