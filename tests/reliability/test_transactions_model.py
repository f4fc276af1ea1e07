"""Many writers moving "money" between tables with multi-table transactions, checked against a
serial model.

Each account is a table whose `balance` property is its money. A transfer reads two accounts,
then commits both in one `POST /transactions/commit`, each change requiring `main` to be the
snapshot it read and adding the transfer's own snapshot on top. Afterwards the tables' snapshot
chains give the order in which transfers landed; replaying exactly the acknowledged transfers
in that order from the opening balances must reproduce every balance each transfer wrote and
the final balances. Refused transfers (409) must have left no trace; no request may fail
otherwise (no 5xx: a deadlock inside the database would surface as one), and every writer must
finish (no deadlock between requests).
"""

from __future__ import annotations

import graphlib
import itertools
import random
import threading
import uuid
from dataclasses import dataclass

import httpx

from tests.reliability.chain import (
    LONG,
    LONG_TIMEOUT,
    Metadata,
    chain,
    change,
    client,
    create_table,
    load,
)
from tests.support.error_model import assert_error
from tests.support.server import CatalogServer

ACCOUNTS = 4
OPENING = 100
WRITERS = 8
TRANSFERS = 200 if LONG else 15

pytestmark = LONG_TIMEOUT


@dataclass(frozen=True)
class Transfer:
    id: int
    source: str
    target: str
    amount: int
    wrote: dict[str, int]  # the balances this transfer committed


def transfer(
    http: httpx.Client, namespace: str, transfer_id: int, accounts: list[str], amount: int
) -> tuple[httpx.Response, Transfer]:
    source, target = accounts
    read: dict[str, Metadata] = {name: load(http, namespace, name)[1] for name in accounts}
    balance = {name: int(read[name]["properties"]["balance"]) for name in accounts}
    wrote = {source: balance[source] - amount, target: balance[target] + amount}
    changes = [
        {
            "identifier": {"namespace": [namespace], "name": name},
            **change(
                read[name], transfer_id, {"balance": str(wrote[name]), f"tx{transfer_id}": "1"}
            ),
        }
        for name in accounts
    ]
    random.Random(transfer_id).shuffle(changes)  # both lock orders reach the database
    response = http.post("/transactions/commit", json={"table-changes": changes})
    return response, Transfer(transfer_id, source, target, amount, wrote)


def test_concurrent_transfers_are_serializable_and_nothing_is_lost(
    catalog_server: CatalogServer,
) -> None:
    namespace = f"bank_{uuid.uuid4().hex[:8]}"
    accounts = [f"account{i}" for i in range(ACCOUNTS)]
    with client(catalog_server.url, catalog_server.token) as http:
        assert http.post("/namespaces", json={"namespace": [namespace]}).status_code == 200
        for name in accounts:
            create_table(http, namespace, name, balance=str(OPENING))

    acked: dict[int, Transfer] = {}
    refused: set[int] = set()
    failures: list[str] = []
    lock = threading.Lock()

    def writer(index: int) -> None:
        rng = random.Random(f"writer-{index}")
        with client(catalog_server.url, catalog_server.token) as http:
            for k in range(TRANSFERS):
                transfer_id = index * 100_000 + k + 1
                pair = rng.sample(accounts, 2)
                response, done = transfer(http, namespace, transfer_id, pair, rng.randint(1, 9))
                with lock:
                    if response.status_code == 204:
                        acked[transfer_id] = done
                    elif response.status_code == 409:
                        assert_error(response, 409, "CommitFailedException")
                        refused.add(transfer_id)
                    else:
                        failures.append(f"{response.status_code} {response.text}")

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=3000 if LONG else 300)
    assert not any(thread.is_alive() for thread in threads), "writers deadlocked"
    assert failures == []
    assert len(acked) + len(refused) == WRITERS * TRANSFERS
    assert acked, "no transfer landed: the test proved nothing"

    with client(catalog_server.url, catalog_server.token) as http:
        final = {name: load(http, namespace, name)[1] for name in accounts}
    chains = {name: chain(final[name]) for name in accounts}

    # Exactly the acknowledged transfers landed, each in both of its accounts.
    landed = {t for ids in chains.values() for t in ids}
    assert landed == set(acked)
    for t in acked.values():
        assert t.id in chains[t.source] and t.id in chains[t.target], t
    for name in accounts:
        markers = {int(k[2:]) for k in final[name]["properties"] if k.startswith("tx")}
        assert markers == set(chains[name]), name
        assert not markers & refused

    # The chains admit one serial order; replaying it reproduces every committed balance.
    order = graphlib.TopologicalSorter[int]()
    for ids in chains.values():
        for before, after in itertools.pairwise(ids):
            order.add(after, before)
        for landed_id in ids:
            order.add(landed_id)
    model = dict.fromkeys(accounts, OPENING)
    for transfer_id in order.static_order():  # raises CycleError if not serializable
        t = acked[transfer_id]
        model[t.source] -= t.amount
        model[t.target] += t.amount
        assert {t.source: model[t.source], t.target: model[t.target]} == t.wrote, t
    assert {name: int(final[name]["properties"]["balance"]) for name in accounts} == model
    assert sum(model.values()) == OPENING * ACCOUNTS
    print(f"\n{len(acked)} transfers acknowledged, {len(refused)} refused with 409")
