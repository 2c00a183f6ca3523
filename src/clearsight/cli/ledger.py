"""`clearsight ledger ...`: tamper-evident logs, checkpoints, proofs and their verification."""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from clearsight.cli.common import JsonOption, command_group, console, fail, print_json, state

if TYPE_CHECKING:
    from clearsight.ledger.note import Signer, Verifier
    from clearsight.ledger.store import Ledger, Log

ledger_app = command_group(
    "Tamper-evident logs (RFC 9162 Merkle trees, C2SP signed checkpoints): append, prove, verify."
)

LogOption = Annotated[str, typer.Option("--log", "-l", help="Name of the log within the ledger file.")]
KeyOption = Annotated[Path, typer.Option("--key", "-k", help="The log's private key file (from `ledger keygen`).")]
VerifierOption = Annotated[
    str, typer.Option("--verifier", "-v", help="The log's public key (name+id+key), or a file holding it.")
]
WitnessOption = Annotated[
    list[str] | None, typer.Option("--witness", help="A witness's public key (or file); repeat for several.")
]
QuorumOption = Annotated[int, typer.Option(help="How many of the witnesses must have cosigned (k of n).")]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _text_or_file(value: str) -> str:
    path = Path(value)
    return path.read_text().strip() if path.exists() else value


def _verifier(value: str) -> Verifier:
    from clearsight.ledger.note import NoteError, Verifier

    try:
        return Verifier.decode(_text_or_file(value))
    except NoteError as error:
        fail(f"verifier key: {error}", 2)


def _signer(path: Path) -> Signer:
    from clearsight.ledger.note import NoteError, Signer

    try:
        return Signer.decode(path.read_text())
    except OSError as error:
        fail(f"{path}: {error.strerror}", 2)
    except NoteError as error:
        fail(f"{path}: {error}", 2)


def _open_log(name: str, create: bool = False) -> tuple[Ledger, Log]:
    from clearsight.ledger.store import Ledger, LedgerError

    ledger = Ledger(state.ledger)
    try:
        return ledger, ledger.log(name, create=create)
    except LedgerError as error:
        ledger.close()
        fail(str(error), 2)


@ledger_app.command("keygen")
def keygen_command(
    name: Annotated[
        str, typer.Argument(help="Key name: the log's origin (e.g. registry.example/titles) or a witness's.")
    ],
    out: Annotated[Path, typer.Option(help="Where to write the private key (created with mode 600).")],
    witness: Annotated[bool, typer.Option(help="A witness cosigning key (type 0x04) instead of a log key.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Generate an Ed25519 key pair; write the private key to a file and print the public (verifier) key."""
    from clearsight.ledger.note import COSIGNATURE_ED25519, ED25519, NoteError, Signer

    if out.exists():
        fail(f"{out} exists; refusing to overwrite a key", 2)
    try:
        signer = Signer.generate(name, COSIGNATURE_ED25519 if witness else ED25519)
    except NoteError as error:
        fail(str(error), 2)
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(signer.encode() + "\n")
    verifier = signer.verifier.encode()
    if json_output:
        print_json({"name": name, "private_key_file": str(out), "verifier": verifier, "witness": witness})
    else:
        console.print(f"private key written to {out} (keep it secret); public key:")
        console.print(verifier, soft_wrap=True)


@ledger_app.command("append")
def append_command(
    file: Annotated[str, typer.Argument(help="JSON Lines file (or - for stdin): each line's bytes are one entry.")],
    log: LogOption = "default",
    entry_type: Annotated[str, typer.Option("--type", help="Entry type recorded with each entry.")] = "entry",
    again: Annotated[
        bool,
        typer.Option("--again", help="Append even when these very entries already end the log (a second copy)."),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Append each line of a JSON Lines file, byte for byte, as one entry (all lines, or none if any is not JSON).

    Safe to run again: when the file's entries are already the last entries of the log (a run that was
    interrupted after appending), nothing is appended a second time unless --again is given."""
    import orjson

    from clearsight.ledger.store import entries_from_lines

    try:
        handle = sys.stdin.buffer if file == "-" else open(file, "rb")  # noqa: SIM115
    except OSError as error:
        fail(f"{file}: {error.strerror}", 2)
    with handle:
        entries = list(entries_from_lines(handle))
    bad = []
    for number, entry in enumerate(entries, 1):
        try:
            orjson.loads(entry)
        except orjson.JSONDecodeError as error:
            bad.append(f"entry {number}: {error}")
    if bad:
        fail(f"{file}: {len(bad)} entries are not JSON; nothing appended. " + "; ".join(bad[:5]), 1)
    ledger, opened = _open_log(log, create=True)
    with ledger:
        present = 0 if again else opened.already_at_end(entries)
        if entries and present == len(entries):
            indices = range(opened.size(), opened.size())
        else:
            present = 0
            indices = opened.append(entries, entry_type)
        size = opened.size()
        result: dict[str, object] = {
            "log": log,
            "appended": len(indices),
            "already_present": present,
            "first_index": indices.start if indices else None,
            "size": size,
            "root": _b64(opened.root()),
        }
    if json_output:
        print_json(result)
    elif present:
        console.print(
            f"these {present:,} entries are already the last of log '{log}' (entries {size - present:,}–{size - 1:,}): "
            "nothing appended (--again appends a second copy)"
        )
    else:
        console.print(f"appended {result['appended']} entries to log '{log}' (size now {result['size']})")


@ledger_app.command("checkpoint")
def checkpoint_command(
    log: LogOption = "default", key: KeyOption = Path("log.key"), json_output: JsonOption = False
) -> None:
    """Sign the log's current tree head as a C2SP checkpoint (refused if history changed since the last one)."""
    from clearsight.ledger.merkle import ProofError
    from clearsight.ledger.store import LedgerError

    signer = _signer(key)
    ledger, opened = _open_log(log)
    with ledger:
        try:
            note = opened.checkpoint(signer)
        except (LedgerError, ProofError) as error:
            fail(str(error))
        size, root = opened.size(), opened.root()
    if json_output:
        print_json({"log": log, "origin": opened.origin, "size": size, "root": _b64(root), "note": note})
    else:
        sys.stdout.write(note)


@ledger_app.command("prove")
def prove_command(
    index: Annotated[int, typer.Argument(help="Index of the entry (0-based).")],
    log: LogOption = "default",
    size: Annotated[int | None, typer.Option(help="Tree size to prove against (default: the current size).")] = None,
    json_output: JsonOption = False,
) -> None:
    """Inclusion proof of one entry: its audit path, with the tree size and root it leads to."""
    from clearsight.ledger.merkle import leaf_hash
    from clearsight.ledger.store import LedgerError, proof_to_json

    ledger, opened = _open_log(log)
    with ledger:
        try:
            tree_size = size if size is not None else opened.size()
            proof = opened.inclusion_proof(index, tree_size)
            entry = opened.entry(index)
            root = opened.root(tree_size)
        except LedgerError as error:
            fail(str(error), 2)
    result: dict[str, Any] = {
        "log": log,
        "index": index,
        "size": tree_size,
        "root": _b64(root),
        "leaf_hash": _b64(leaf_hash(entry)),
        "entry": entry.decode("utf-8", "replace"),
        "proof": proof_to_json(proof),
    }
    if json_output:
        print_json(result)
    else:
        _print_proof(f"entry {index} of log '{log}' at size {tree_size}, root {result['root']}", proof)


def _print_proof(heading: str, proof: list[bytes]) -> None:
    from clearsight.ledger.store import proof_to_json

    console.print(heading)
    for number, item in enumerate(proof_to_json(proof)):
        console.print(f"  {number}: {item}")


@ledger_app.command("consistency")
def consistency_command(
    old: Annotated[int, typer.Argument(help="Older tree size.")],
    new: Annotated[int | None, typer.Argument(help="Newer tree size (default: the current size).")] = None,
    log: LogOption = "default",
    json_output: JsonOption = False,
) -> None:
    """Consistency proof: the tree of size NEW extends the tree of size OLD."""
    from clearsight.ledger.store import LedgerError, proof_to_json

    ledger, opened = _open_log(log)
    with ledger:
        try:
            new_size = new if new is not None else opened.size()
            proof = opened.consistency_proof(old, new_size)
            result = {
                "log": log,
                "old_size": old,
                "new_size": new_size,
                "old_root": _b64(opened.root(old)),
                "new_root": _b64(opened.root(new_size)),
                "proof": proof_to_json(proof),
            }
        except LedgerError as error:
            fail(str(error), 2)
    if json_output:
        print_json(result)
    else:
        _print_proof(f"log '{log}': size {old} → {new_size}", proof)


@ledger_app.command("verify")
def verify_command(
    log: LogOption = "default",
    verifier: Annotated[
        str | None,
        typer.Option(
            "--verifier",
            "-v",
            help="The log's public key (default: the key recorded beside the ledger when the log signed its first "
            "checkpoint).",
        ),
    ] = None,
    no_signatures: Annotated[
        bool, typer.Option("--no-signatures", help="Do not check the checkpoints' signatures (the output says so).")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Re-derive the whole tree from the stored entries; check stored hashes and every checkpoint, signatures
    included.

    Exits with 1 and names the first bad entry when rows were modified, deleted, reordered or truncated, or when
    a checkpoint's signature is not the log's.
    """
    from clearsight.ledger.store import LedgerError

    key = _verifier(verifier) if verifier else None
    ledger, opened = _open_log(log)
    with ledger:
        try:
            report = opened.verify(key, signatures=not no_signatures)
        except LedgerError as error:
            fail(str(error), 2)
    result = {
        "log": log,
        "ok": report.ok,
        "size": report.size,
        "root": _b64(report.root),
        "checkpoints_checked": report.checkpoints_checked,
        "first_bad_entry": report.first_bad_leaf,
        "problems": report.problems,
        "signatures_checked": report.signatures_checked,
    }
    if json_output:
        print_json(result)
    elif report.ok:
        signed = "signatures checked" if report.signatures_checked else "[yellow]signatures NOT checked[/]"
        console.print(
            f"[green]ok[/]: log '{log}', {report.size} entries, {report.checkpoints_checked} checkpoints "
            f"({signed}), root {result['root']}"
        )
    else:
        console.print(f"[bold red]log '{log}' fails verification[/]; first bad entry: {report.first_bad_leaf}")
        for problem in report.problems[:20]:
            console.print(f"  - {problem}", soft_wrap=True)
    if not report.ok:
        raise typer.Exit(1)


@ledger_app.command("log")
def list_command(json_output: JsonOption = False) -> None:
    """List the logs in the ledger file with their sizes and latest checkpoints."""
    from rich.table import Table

    from clearsight.ledger.store import Ledger

    with Ledger(state.ledger) as ledger:
        rows = []
        for name in ledger.logs():
            opened = ledger.log(name)
            latest = opened.latest_checkpoint()
            rows.append(
                {
                    "log": name,
                    "origin": opened.origin,
                    "size": opened.size(),
                    "checkpoint_size": latest[0] if latest else None,
                }
            )
    if json_output:
        print_json(rows)
        return
    table = Table(title=f"logs in {state.ledger}")
    table.add_column("log")
    table.add_column("origin")
    table.add_column("entries", justify="right")
    table.add_column("latest checkpoint", justify="right")
    for row in rows:
        signed = row["checkpoint_size"]
        checkpoint = "none yet" if signed is None else f"at {signed:,} entries"
        table.add_row(str(row["log"]), str(row["origin"]), f"{row['size']:,}", checkpoint)
    console.print(table)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        fail(f"{path}: {error}", 2)


def _proof(items: Any, path: Path) -> list[bytes]:
    try:
        return [base64.b64decode(item, validate=True) for item in items]
    except (TypeError, ValueError) as error:
        fail(f"{path}: proof items must be base64 ({error})", 2)


@ledger_app.command("verify-entry")
def verify_entry_command(
    checkpoint: Annotated[Path, typer.Option(help="A signed checkpoint note (from `ledger checkpoint`).")],
    proof: Annotated[Path, typer.Option(help="The JSON printed by `ledger prove --json` for the entry.")],
    verifier: VerifierOption,
    entry: Annotated[
        Path | None, typer.Option(help="File holding the entry's bytes (default: the proof's entry).")
    ] = None,
    witness: WitnessOption = None,
    quorum: QuorumOption = 0,
    json_output: JsonOption = False,
) -> None:
    """Offline: check that an entry is in the log as of a signed checkpoint (no access to the log needed)."""
    from clearsight.ledger.merkle import ProofError
    from clearsight.ledger.note import NoteError
    from clearsight.ledger.offline import verify_entry

    data = _read_json(proof)
    entry_bytes = entry.read_bytes().rstrip(b"\n") if entry else str(data["entry"]).encode()
    witnesses = [_verifier(value) for value in witness or []]
    try:
        verified = verify_entry(
            checkpoint.read_text(),
            _verifier(verifier),
            entry_bytes,
            int(data["index"]),
            _proof(data["proof"], proof),
            witnesses,
            quorum or len(witnesses),
        )
    except (NoteError, ProofError) as error:
        fail(f"not verified: {error}")
    result = {
        "ok": True,
        "origin": verified.checkpoint.origin,
        "size": verified.checkpoint.size,
        "index": data["index"],
        "witnesses": list(verified.witnesses),
    }
    if json_output:
        print_json(result)
    else:
        console.print(
            f"[green]verified[/]: entry {data['index']} is in {verified.checkpoint.origin} "
            f"at size {verified.checkpoint.size}"
        )


@ledger_app.command("verify-extension")
def verify_extension_command(
    old: Annotated[Path, typer.Option(help="An older checkpoint you hold.")],
    new: Annotated[Path, typer.Option(help="The log's newer checkpoint.")],
    proof: Annotated[Path, typer.Option(help="The JSON printed by `ledger consistency OLD NEW --json`.")],
    verifier: VerifierOption,
    witness: WitnessOption = None,
    quorum: QuorumOption = 0,
    json_output: JsonOption = False,
) -> None:
    """Offline: check that a newer checkpoint extends an older one, i.e. no past entry was rewritten."""
    from clearsight.ledger.merkle import ProofError
    from clearsight.ledger.note import NoteError
    from clearsight.ledger.offline import verify_extension

    data = _read_json(proof)
    witnesses = [_verifier(value) for value in witness or []]
    try:
        verified = verify_extension(
            old.read_text(),
            new.read_text(),
            _verifier(verifier),
            _proof(data["proof"], proof),
            witnesses,
            quorum or len(witnesses),
        )
    except (NoteError, ProofError) as error:
        fail(f"not consistent: {error} — the log's history differs from the checkpoint you hold")
    if json_output:
        print_json({"ok": True, "origin": verified.checkpoint.origin, "size": verified.checkpoint.size})
    else:
        console.print(
            f"[green]consistent[/]: {verified.checkpoint.origin} at size {verified.checkpoint.size} "
            "extends the checkpoint you hold"
        )


@ledger_app.command("cosign")
def cosign_command(
    checkpoint: Annotated[Path, typer.Option(help="The log's checkpoint note to cosign.")],
    key: Annotated[Path, typer.Option("--key", "-k", help="The witness's private key (keygen --witness).")],
    verifier: VerifierOption,
    state_file: Annotated[
        Path,
        typer.Option(
            "--state", help="The witness's record of the last checkpoint it cosigned for this log (created if missing)."
        ),
    ],
    proof: Annotated[
        Path | None,
        typer.Option(help="Consistency proof from the recorded checkpoint to this one (`ledger consistency --json`)."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Act as a witness: cosign a checkpoint only if it extends the last one this witness cosigned."""
    from clearsight.ledger.merkle import ProofError
    from clearsight.ledger.note import NoteError, cosign, parse_note
    from clearsight.ledger.offline import verify_extension

    witness = _signer(key)
    note_text = checkpoint.read_text()
    try:
        if state_file.exists():
            items = _proof(_read_json(proof)["proof"], proof) if proof else []
            verify_extension(state_file.read_text(), note_text, _verifier(verifier), items)
        else:
            verify_extension(note_text, note_text, _verifier(verifier), [])
        cosigned = cosign(parse_note(note_text), witness).encode()
    except (NoteError, ProofError) as error:
        fail(f"refusing to cosign: {error}")
    state_file.write_text(note_text)
    if json_output:
        print_json({"witness": witness.name, "note": cosigned})
    else:
        sys.stdout.write(cosigned)
