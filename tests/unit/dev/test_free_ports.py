"""Ports for local servers come from below the kernel's ephemeral range, so an outgoing connection's local end
cannot take one between the pick and the server's bind (which made a parallel chaos run's API fail to start)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from services.dev import servers


def test_ports_are_distinct_bindable_and_below_the_ephemeral_range() -> None:
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = servers.free_ports(20)
    assert len(set(ports)) == 20 and all(low - servers.LISTEN_RANGE <= p < low for p in ports)
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_without_a_known_range_the_kernel_picks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(servers, "EPHEMERAL", tmp_path / "absent")
    assert len(set(servers.free_ports(3))) == 3


def test_a_port_handed_out_is_not_handed_out_again_by_any_process(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    monkeypatch.setattr(servers, "CLAIMS", tmp_path / "claims")
    monkeypatch.setattr(servers, "LISTEN_RANGE", 40)  # a small range, so repeats would show
    first = set(servers.free_ports(15))
    second = set(servers.free_ports(15))  # as another process would ask, while the first servers start
    assert len(first) == len(second) == 15 and not first & second
    assert {int(p.name) for p in (tmp_path / "claims").iterdir()} == first | second
