import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { abilities, api, session } from "./api.js";
import { Link, decNs, navigate, usePath } from "./router.jsx";
import { finishSignIn } from "./oidc.js";
import { Admin } from "./pages/Admin.jsx";
import { Browse } from "./pages/Browse.jsx";
import { Login } from "./pages/Login.jsx";
import { Namespace } from "./pages/Namespace.jsx";
import { Table } from "./pages/Table.jsx";
import { View } from "./pages/View.jsx";
import { Warehouses } from "./pages/Warehouses.jsx";
import "./style.css";

function route(path, who, can) {
  const parts = path.split("/").filter(Boolean);
  if (parts[0] === "admin") return can.admin ? <Admin page={parts[1] || "tokens"} /> : <p>Admin pages need an admin token.</p>;
  if (parts[0] === "w" && parts[1]) {
    const wh = decodeURIComponent(parts[1]);
    if (parts[2] === "n" && parts[3]) {
      const levels = decNs(parts[3]);
      const name = parts[5] ? decodeURIComponent(parts[5]) : null;
      if (parts[4] === "t" && name) return <Table wh={wh} levels={levels} table={name} can={can} />;
      if (parts[4] === "v" && name) return <View wh={wh} levels={levels} view={name} />;
      return <Namespace wh={wh} levels={levels} can={can} />;
    }
    return <Browse wh={wh} can={can} />;
  }
  return <Warehouses who={who} />;
}

function App() {
  const path = usePath();
  const [config, setConfig] = useState(null);
  const [who, setWho] = useState(null);
  const [checking, setChecking] = useState(true);
  const [error, setError] = useState(null);

  useEffect(() => {
    (async () => {
      const cfg = await fetch("/ui/config.json", { credentials: "omit" }).then((r) => r.json()).catch(() => ({ oidc: null }));
      setConfig(cfg);
      try {
        if (location.pathname === "/ui/callback" && cfg.oidc) session.set(await finishSignIn(cfg.oidc));
        if (session.get()) setWho(await api("/admin/v1/whoami"));
      } catch (e) {
        session.clear();
        setError(e);
      }
      setChecking(false);
    })();
  }, []);

  if (checking) return <p aria-busy="true">Loading…</p>;
  if (!who) return <Login config={config} initialError={error} onSignedIn={setWho} />;
  const can = abilities(who);
  const signOut = () => {
    session.clear();
    setWho(null);
    navigate("/");
  };
  return (
    <div class={can.write ? "app can-write" : "app read-only"}>
      <header>
        <Link to="/" class="brand">
          icefloe
        </Link>
        <nav aria-label="Main">
          <Link to="/">Warehouses</Link>
          {can.admin && <Link to="/admin/tokens">Admin</Link>}
        </nav>
        <span class="who">
          {who.name} <span class="tag">{can.admin ? "admin" : can.write ? "read-write" : "read-only"}</span>
        </span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      {route(path, who, can)}
    </div>
  );
}

render(<App />, document.getElementById("app"));
