"""Many clients writing one source at once over HTTP: one winner per version, no lost update, one source per key."""

from __future__ import annotations

import os
import random
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import httpx

from tests.prove.conftest import COUNTS, report
from tests.prove.harness import assert_consistent, create_body, marked_credentials, new_source, routes

CLIENTS = int(os.environ.get("DS_CONCURRENT_CLIENTS", "8"))
TRIALS = int(os.environ.get("DS_CONCURRENT_TRIALS", "12"))
HAS_PATCH = any(route.method == "PATCH" and route.path.startswith("/api/public/v1/") for route in routes())


def _together(jobs: list[Any]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(lambda job: job(), jobs))


def test_same_row_version_exactly_one_put_wins_and_the_rest_get_409_with_current(local_api, api, tenant):
    trials = 0
    for trial in range(TRIALS):
        # Given a source at some rowVersion v
        source = new_source(api, f"race-{trial}")
        version = source["rowVersion"]
        # When many clients PUT it at once, each with rowVersion v
        jobs = [
            partial(
                api.put,
                "/api/v1/data-sources",
                json={"key": source["key"], "description": f"writer {i}", "rowVersion": version},
            )
            for i in range(CLIENTS)
        ]
        answers = _together(jobs)
        trials += 1
        # Then exactly one wins, and every loser is told the winner's state
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [200] + [409] * (CLIENTS - 1), statuses
        winner = next(answer.json() for answer in answers if answer.status_code == 200)
        for loser in (answer for answer in answers if answer.status_code == 409):
            assert loser.json()["current"]["rowVersion"] == version + 1
            assert loser.json()["current"]["description"] == winner["description"]
        assert api.get(f"/api/v1/data-sources/{source['id']}").json()["description"] == winner["description"]
    assert_consistent(local_api.aws, tenant)
    COUNTS["concurrent trials"] += TRIALS
    report(f"[concurrency] same-version race: {trials} trials x {CLIENTS} clients")


def _writer(api: httpx.Client, key: str, source_id: str, seed: int, steps: int) -> list[dict[str, Any]]:
    """A client that reads, then writes with the version it read: a log of the writes the API accepted."""
    rng = random.Random(seed)
    accepted: list[dict[str, Any]] = []
    for step in range(steps):
        current = api.get(f"/api/v1/data-sources/{source_id}")
        if current.status_code == 404:
            return accepted
        version = current.json()["rowVersion"]
        operations = ["PUT"] * 6 + ["DELETE"] + (["PATCH"] * 3 if HAS_PATCH else [])
        operation = rng.choice(operations)
        change = {"description": f"s{seed}-{step}", "port": rng.randint(1, 65535)}
        if operation == "PUT":
            answer = api.put("/api/v1/data-sources", json={"key": key, **change, "rowVersion": version})
        elif operation == "PATCH":
            answer = api.patch(
                f"/api/public/v1/data-sources/{source_id}", json=change, headers={"if-match": f'"{version}"'}
            )
        else:
            answer = api.delete("/api/v1/data-sources", params={"key": key}, headers={"if-match": f'"{version}"'})
        # A write that lost the race is told so (404 gone, 409 with the winner's state), never "retry later"
        assert answer.status_code in {200, 204, 404, 409}, answer.text
        if answer.status_code in {200, 204}:
            accepted.append({"operation": operation, "after": version + 1, "change": change})
    return accepted


def test_random_interleavings_of_writes_lose_no_update(local_api, api, tenant):
    for trial in range(TRIALS):
        # Given a source
        source = new_source(api, f"mix-{trial}")
        # When several clients interleave PUT/DELETE (and PATCH where the route exists) at random
        logs = _together(
            [partial(_writer, api, source["key"], source["id"], trial * 100 + i, 6) for i in range(CLIENTS // 2)]
        )
        accepted = sorted((write for log in logs for write in log), key=lambda write: write["after"])
        # Then the accepted writes form one serial history: versions v+1, v+2, ... without gaps or twins
        first = source["rowVersion"] + 1
        assert [write["after"] for write in accepted] == list(range(first, first + len(accepted)))
        deletes = [write for write in accepted if write["operation"] == "DELETE"]
        assert len(deletes) <= 1 and (not deletes or deletes[0] is accepted[-1])
        # And the final state equals the serial replay of those writes
        final = api.get(f"/api/v1/data-sources/{source['id']}")
        if deletes:
            assert final.status_code == 404
            continue
        expected = {"description": source["description"], "port": source["port"]}
        for write in accepted:
            expected.update(write["change"])
        body = final.json()
        assert {"description": body["description"], "port": body["port"]} == expected
        assert body["rowVersion"] == source["rowVersion"] + len(accepted)
    assert_consistent(local_api.aws, tenant)
    COUNTS["concurrent trials"] += TRIALS
    report(f"[concurrency] random interleavings: {TRIALS} trials x {CLIENTS // 2} clients (PATCH: {HAS_PATCH})")


def test_creating_the_same_key_concurrently_makes_exactly_one_source(local_api, api, tenant):
    for trial in range(TRIALS):
        body = create_body(f"same-{trial}")
        answers = _together([partial(api.post, "/api/v1/data-sources", json=body) for _ in range(CLIENTS)])
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [201] + [409] * (CLIENTS - 1), statuses
    listed = api.get("/api/v1/data-sources", params={"limit": "100"}).json()
    assert sorted(item["key"] for item in listed["data"]) == sorted(f"src-same-{t}" for t in range(TRIALS))
    assert_consistent(local_api.aws, tenant)
    COUNTS["concurrent trials"] += TRIALS
    report(f"[concurrency] same-key creates: {TRIALS} trials x {CLIENTS} clients")


WRITERS = int(os.environ.get("DS_CONCURRENT_WRITERS", "16"))


def test_puts_without_row_version_never_conflict_each_is_applied_once(local_api, api, tenant):
    for trial in range(max(1, TRIALS // 4)):
        # Given a source at rowVersion v
        source = new_source(api, f"merge-{trial}")
        version = source["rowVersion"]
        # When 16 clients PUT it at once without a rowVersion (half of them changing its credentials)
        jobs = [
            partial(
                api.put,
                "/api/v1/data-sources",
                json={
                    "key": source["key"],
                    "description": f"writer {i}",
                    **({"credentials": marked_credentials(f"w{trial}-{i}")} if i % 2 else {}),
                },
            )
            for i in range(WRITERS)
        ]
        answers = _together(jobs)
        # Then every one is applied, once each, one after the other: rowVersions v+1 .. v+16
        assert [answer.status_code for answer in answers] == [200] * WRITERS, [a.text for a in answers]
        versions = sorted(answer.json()["rowVersion"] for answer in answers)
        assert versions == list(range(version + 1, version + 1 + WRITERS))
        last = max((answer.json() for answer in answers), key=lambda body: body["rowVersion"])
        final = api.get(f"/api/v1/data-sources/{source['id']}").json()
        assert (final["rowVersion"], final["description"]) == (version + WRITERS, last["description"])
        assert_consistent(local_api.aws, tenant)
    COUNTS["concurrent trials"] += max(1, TRIALS // 4)
    report(f"[concurrency] PUT without rowVersion: {max(1, TRIALS // 4)} trials x {WRITERS} clients, all applied")


def test_concurrent_credential_puts_and_deletes_answer_the_truth_never_503(local_api, api, tenant):
    for trial in range(max(1, TRIALS // 2)):
        # Given a source with credentials
        source = new_source(api, f"cred-{trial}")
        version = source["rowVersion"]
        # When clients change its credentials (with and without rowVersion) while others delete it
        puts = [
            partial(
                api.put,
                "/api/v1/data-sources",
                json={
                    "key": source["key"],
                    "credentials": marked_credentials(f"c{trial}-{i}"),
                    **({"rowVersion": version} if i % 2 else {}),
                },
            )
            for i in range(CLIENTS)
        ]
        deletes = [
            partial(
                api.delete,
                "/api/v1/data-sources",
                params={"key": source["key"]},
                headers={"if-match": f'"{version}"'} if i % 2 else {},
            )
            for i in range(CLIENTS // 2)
        ]
        answers = _together([*puts, *deletes])
        # Then each is answered with what happened to it: applied, gone, or lost to another writer
        put_answers, delete_answers = answers[: len(puts)], answers[len(puts) :]
        assert {a.status_code for a in put_answers} <= {200, 404, 409}, [a.text for a in put_answers]
        assert {a.status_code for a in delete_answers} <= {204, 404, 409}, [a.text for a in delete_answers]
        deleted = [a for a in delete_answers if a.status_code == 204]
        assert len(deleted) <= 1
        final = api.get(f"/api/v1/data-sources/{source['id']}")
        assert final.status_code == (404 if deleted else 200)
        # And the record, its secret and the tenant's secrets agree
        assert_consistent(local_api.aws, tenant)
    COUNTS["concurrent trials"] += max(1, TRIALS // 2)
    report(f"[concurrency] credential PUTs x DELETEs: {max(1, TRIALS // 2)} trials, {CLIENTS + CLIENTS // 2} clients")


def test_concurrent_deletes_one_wins_the_others_are_told_it_is_gone(local_api, api, tenant):
    for trial in range(max(1, TRIALS // 2)):
        source = new_source(api, f"del-{trial}")
        jobs = [partial(api.delete, "/api/v1/data-sources", params={"key": source["key"]}) for _ in range(CLIENTS)]
        statuses = sorted(answer.status_code for answer in _together(jobs))
        assert statuses == [204] + [404] * (CLIENTS - 1), statuses
        assert_consistent(local_api.aws, tenant)
    COUNTS["concurrent trials"] += max(1, TRIALS // 2)
    report(f"[concurrency] same-source deletes: {max(1, TRIALS // 2)} trials x {CLIENTS} clients")


def test_the_registry_s_own_writes_do_not_make_a_client_s_row_version_or_etag_stale(local_api, api, tenant):
    # Given a client that read a source (its rowVersion and ETag)
    source = new_source(api, "stale")
    read = api.get(f"/api/public/v1/data-sources/{source['id']}")
    # When the registry records connection tests and a discovery on it meanwhile
    for _ in range(2):
        assert api.post(f"/api/v1/data-sources/{source['id']}/test-connection").status_code == 200
    assert api.post(f"/api/v1/data-sources/{source['id']}/discover-schema").status_code == 200
    after = api.get(f"/api/public/v1/data-sources/{source['id']}")
    # Then its rowVersion and ETag still hold, and its write back is applied
    assert after.headers["etag"] == read.headers["etag"]
    answer = api.put(
        "/api/v1/data-sources",
        json={"key": source["key"], "description": "written back", "rowVersion": source["rowVersion"]},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["rowVersion"] == source["rowVersion"] + 1
    assert answer.json()["lastTestedAt"] is not None and answer.json()["schemaDiscoveredAt"] is not None
