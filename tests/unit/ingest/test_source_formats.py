"""Each live source's frames → events, in the formats the servers send (pure functions, no network)."""

from __future__ import annotations

import json

from services.ingest.cursor import CursorGate
from services.ingest.sources import bluesky, mastodon, x

JETSTREAM_POST = {  # as Jetstream sends it (github.com/bluesky-social/jetstream README)
    "did": "did:plc:eygmaihciaxprqvxpfvl6flk", "time_us": 1725911162329308, "kind": "commit",
    "commit": {"rev": "3l3qo2vutsw2b", "operation": "create", "collection": "app.bsky.feed.post",
               "rkey": "3l3qo2vuowo2b", "cid": "bafyreidwaivazkwu67xztlmuobx35hs2lnfh3kolmgfmucldvhd3sgzcqi",
               "record": {"$type": "app.bsky.feed.post", "createdAt": "2024-09-09T19:46:02.102Z",
                          "langs": ["en"], "text": "Bernie Sanders was right about this"}}}
EN = bluesky.wanted_langs(["en"])


def frame(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_a_jetstream_post_becomes_an_ingest_record_keyed_by_its_at_uri() -> None:
    event = bluesky.parse_event(frame(JETSTREAM_POST), EN)
    assert event.kind == "post" and event.position == 1725911162329308 and event.item is not None
    assert event.item.record == {
        "id": "at://did:plc:eygmaihciaxprqvxpfvl6flk/app.bsky.feed.post/3l3qo2vuowo2b",
        "text": "Bernie Sanders was right about this", "created_at": "2024-09-09T19:46:02.102Z",
        "author": "did:plc:eygmaihciaxprqvxpfvl6flk", "lang": "en", "source": "bluesky"}


def test_an_author_is_named_by_handle_once_an_identity_event_has_told_it() -> None:
    handles = bluesky.HandleBook(capacity=2)
    did = JETSTREAM_POST["did"]

    def author() -> object:
        event = bluesky.parse_event(frame(JETSTREAM_POST), EN, handles)
        assert event.item is not None
        return event.item.record["author"]  # type: ignore[index]

    assert author() == did  # not known yet: the DID
    identity = {"did": did, "time_us": 1725911162329309, "kind": "identity",
                "identity": {"did": did, "handle": "alice.bsky.social", "seq": 1, "time": "2024-09-09T19:46:02Z"}}
    event = bluesky.parse_event(frame(identity), EN, handles)
    assert (event.kind, event.position, event.item) == ("other", 1725911162329309, None)
    assert author() == "@alice.bsky.social"
    bluesky.parse_event(frame({**identity, "identity": {**identity["identity"], "handle": "handle.invalid"}}), EN,
                        handles)
    assert author() == did  # the handle no longer verifies: the DID again
    for n in range(3):  # the oldest are forgotten past the capacity
        handles.learn(f"did:plc:{n}", f"user{n}.example")
    assert len(handles) == 2 and handles.author("did:plc:0") == "did:plc:0"
    assert handles.author("did:plc:2") == "@user2.example"


def test_jetstream_events_that_only_move_the_cursor() -> None:
    def with_commit(**commit: object) -> bytes:
        return frame({**JETSTREAM_POST, "commit": {**JETSTREAM_POST["commit"], **commit}})  # type: ignore[dict-item]

    record = JETSTREAM_POST["commit"]["record"]  # type: ignore[index]
    cases = {
        frame({"did": "did:plc:x", "time_us": 5, "kind": "identity", "identity": {}}): "other",
        with_commit(operation="delete", record=None): "delete",
        with_commit(operation="update"): "other",
        with_commit(collection="app.bsky.feed.like"): "other",
        with_commit(record={**record, "text": "  "}): "skipped",  # images only
        with_commit(record={**record, "langs": ["pt-BR"]}): "skipped",
    }
    for raw, kind in cases.items():
        event = bluesky.parse_event(raw, EN)
        assert (event.kind, event.item) == (kind, None), raw
        assert event.position is not None
    assert bluesky.parse_event(with_commit(record={**record, "langs": ["en-US"]}), EN).kind == "post"
    assert bluesky.parse_event(with_commit(record={**record, "langs": []}), EN).kind == "post"


def test_malformed_jetstream_frames_go_to_the_dlq_with_their_bytes() -> None:
    for raw in (b"not json", frame({"kind": "commit"}), frame({**JETSTREAM_POST, "time_us": "soon"}),
                b"[" * 100_000):
        event = bluesky.parse_event(raw, EN)
        assert event.kind == "malformed" and event.position is None
        assert event.item is not None and event.item.raw == raw and event.item.error_reason == "malformed_event"


def test_a_mastodon_update_is_reduced_to_text_and_keyed_by_its_activitypub_uri() -> None:
    status = {"id": "113500000000000000", "uri": "https://example.social/users/ann/statuses/1",
              "created_at": "2026-11-03T18:00:00.000Z", "language": "en", "spoiler_text": "",
              "content": "<p>Biden &amp; Harris<br>on the <a href='#'>#economy</a></p><p>second</p>",
              "reblog": None, "account": {"acct": "ann@example.social"}}
    event = mastodon.parse_frame(frame({"stream": ["hashtag", "uspol"], "event": "update",
                                        "payload": json.dumps(status)}), EN)
    assert event.kind == "post" and event.position == 113500000000000000 and event.item is not None
    assert event.item.record is not None
    assert event.item.record["text"] == "Biden & Harris\non the #economy\n\nsecond"
    assert event.item.record["id"] == status["uri"] and event.item.record["author"] == "ann@example.social"
    assert mastodon.parse_status({**status, "reblog": {"id": "1"}}, b"", EN).kind == "other"
    assert mastodon.parse_status({**status, "language": "de"}, b"", EN).kind == "skipped"
    assert mastodon.parse_frame(frame({"event": "delete", "payload": "1"}), EN).kind == "delete"
    assert mastodon.parse_frame(b'{"event": "update", "payload": "{not json"}', EN).kind == "malformed"


def test_mastodon_and_x_ids_carry_their_time() -> None:
    assert 1.73e9 < mastodon.snowflake_time(113500000000000000) < 1.74e9  # Nov 2024: ms << 16
    post_id = 1854000000000000000
    assert 1.7e9 < x.snowflake_time(post_id) < 1.8e9
    m = mastodon.MastodonSource.__new__(mastodon.MastodonSource)
    assert mastodon.snowflake_time(m.rewind(113500000000000000, 10)) == mastodon.snowflake_time(113500000000000000) - 10


def test_an_x_line_becomes_a_record_and_an_error_notice_ends_the_connection() -> None:
    line = frame({"data": {"id": "1854000000000000000", "text": "Trump again", "created_at":
                           "2026-11-03T18:00:00.000Z", "lang": "en", "author_id": "7"},
                  "includes": {"users": [{"id": "7", "username": "bob"}]}})
    event = x.parse_line(line)
    assert event is not None and event.kind == "post" and event.item is not None and event.item.record is not None
    assert event.item.record["id"] == "x:1854000000000000000" and event.item.record["author"] == "bob"
    assert x.parse_line(b'{"errors": [{"title": "operational-disconnect"}]}') is None
    malformed = x.parse_line(b"{")
    assert malformed is not None and malformed.kind == "malformed"


def test_the_gate_checkpoints_the_highest_position_of_the_settled_prefix() -> None:
    gate = CursorGate(start=5)
    a, b, c = gate.admit(10), gate.admit(None), gate.admit(8)  # positions need not arrive in order
    gate.settle(c)
    gate.settle(b)
    assert gate.checkpoint() == 5 and gate.pending == 3
    gate.settle(a)
    assert gate.checkpoint() == 10 and gate.pending == 0
    d = gate.admit(11)
    gate.fail(d, "broker gone")
    assert gate.checkpoint() == 10 and gate.failed == "broker gone"
