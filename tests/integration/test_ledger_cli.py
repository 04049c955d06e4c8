"""`carewatch ledger ...` against ledger directories written here in Python.

The Python writer and verifier below follow docs/ledger.md and nothing of
the C code: a second implementation of the format (files, RFC 6962 hashing
with SM3 or SHA-256, C2SP checkpoint notes, key ids), so the tests show the
format is documented well enough to implement, that the C verifier accepts
what the documentation describes, and that the proofs the C code prints
verify with an independent RFC 9162 verifier. Signatures are made and
checked with the openssl command line. Every shell command of
docs/ledger.md is run here too.

Needs neither Kafka nor Redis.
"""

import base64
import hashlib
import json
import os
import re
import struct
import subprocess

import pytest

from carewatch_py.avro_single import Registry

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

BUILD_DIR = os.environ.get("CW_BUILD_DIR", os.path.join(REPO, "build"))
CAREWATCH = os.path.join(BUILD_DIR, "services", "cli", "carewatch")
DOC = os.path.join(REPO, "docs", "ledger.md")
REGISTRY = Registry()
EM_DASH = "\u2014"
SM2_ID = b"1234567812345678"


@pytest.fixture(scope="session", autouse=True)
def kafka_up():
    """These tests need no broker: this replaces conftest's check for one."""
    yield


def run(*args, stdin=None, cwd=None):
    return subprocess.run([CAREWATCH, *args], input=stdin, capture_output=True, text=True,
                          timeout=60, cwd=cwd)


def openssl(*args, stdin=None):
    r = subprocess.run(["openssl", *args], input=stdin, capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout


# ---- the format, from docs/ledger.md ----------------------------------------

def hash_fn(name):
    return {"sm3": lambda b: hashlib.new("sm3", b).digest(),
            "sha256": lambda b: hashlib.sha256(b).digest()}[name]


def leaf_hash(h, entry):
    return h(b"\x00" + entry)


def node_hash(h, left, right):
    return h(b"\x01" + left + right)


def mth(h, leaves):
    """RFC 6962 Merkle tree hash of a list of leaf hashes, recursively."""
    if not leaves:
        return h(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(h, mth(h, leaves[:k]), mth(h, leaves[k:]))


def verify_inclusion(h, index, size, leaf, proof, root):
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if len(p) != 32 or sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(h, p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(h, r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(h, first, second, first_hash, second_hash, proof):
    """RFC 9162 section 2.1.4.2, sizes 0 and equal sizes by their own rules."""
    if first > second:
        return False
    if first == second:
        return not proof and first_hash == second_hash
    if first == 0:
        return not proof and first_hash == h(b"")
    if not proof or any(len(p) != 32 for p in proof):
        return False
    if first & (first - 1) == 0:
        proof = [first_hash] + list(proof)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(h, c, fr)
            sr = node_hash(h, c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(h, sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_hash and sr == second_hash


def spki_der(pub_pem_path):
    return openssl("pkey", "-pubin", "-in", pub_pem_path, "-outform", "DER")


def key_id(alg, key_name, pub_pem_path):
    der = spki_der(pub_pem_path)
    if alg == "ed25519":
        data = key_name.encode() + b"\n\x01" + der[-32:]
    else:
        data = key_name.encode() + b"\n\xff" + b"carewatch-sm2" + der
    return hashlib.sha256(data).digest()[:4]


def sign(alg, key_path, text, workdir):
    path = os.path.join(workdir, "to-sign.txt")
    with open(path, "wb") as f:
        f.write(text)
    args = ["pkeyutl", "-sign", "-inkey", key_path, "-rawin", "-in", path]
    if alg == "sm2":
        args += ["-digest", "sm3", "-pkeyopt", "distid:" + SM2_ID.decode()]
    return openssl(*args)


def signature_ok(alg, pub_path, text, sig, workdir):
    tpath, spath = os.path.join(workdir, "v.txt"), os.path.join(workdir, "v.sig")
    with open(tpath, "wb") as f:
        f.write(text)
    with open(spath, "wb") as f:
        f.write(sig)
    args = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub_path, "-rawin", "-in", tpath,
            "-sigfile", spath]
    if alg == "sm2":
        args += ["-digest", "sm3", "-pkeyopt", "distid:" + SM2_ID.decode()]
    return subprocess.run(args, capture_output=True, timeout=30).returncode == 0


def parse_note(note):
    """(origin, size, root, timestamp, [(key name, key id, signature)])."""
    text, _, sigs = note.rpartition("\n\n")
    lines = text.split("\n")
    assert len(lines) == 4 and lines[3].startswith("timestamp "), note
    signatures = []
    for line in sigs.rstrip("\n").split("\n"):
        dash, name, blob = line.split(" ")
        assert dash == EM_DASH
        raw = base64.b64decode(blob, validate=True)
        signatures.append((name, raw[:4], raw[4:]))
    return (lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True),
            int(lines[3][len("timestamp "):]), text + "\n", signatures)


class PyLedger:
    """A ledger directory written as docs/ledger.md describes it."""

    def __init__(self, directory, log_id, hash_name, sig_alg, key_path, pub_path):
        self.dir, self.hash_name, self.alg = directory, hash_name, sig_alg
        self.key_path, self.pub_path = key_path, pub_path
        self.h = hash_fn(hash_name)
        self.origin = "carewatch.ledger/%s/%s" % (log_id, hash_name)
        self.entries, self.leaves, self.checkpoints = [], [], []
        os.makedirs(directory, exist_ok=True)
        with open(self.path("origin"), "w") as f:
            f.write(self.origin + "\n")
        open(self.path("entries"), "wb").close()
        open(self.path("checkpoints"), "wb").close()

    def path(self, name):
        return os.path.join(self.dir, name)

    def append(self, entry):
        with open(self.path("entries"), "ab") as f:
            f.write(struct.pack(">I", len(entry)) + entry)
        self.entries.append(entry)
        self.leaves.append(leaf_hash(self.h, entry))

    def append_order(self, index, order_id=None):
        record = order_record(index, order_id)
        self.append(REGISTRY.encode("OrderFinalized", record))
        return record

    def root(self, size):
        return mth(self.h, self.leaves[:size])

    def checkpoint(self, timestamp_ms):
        size = len(self.entries)
        text = "%s\n%d\n%s\ntimestamp %d\n" % (
            self.origin, size, base64.b64encode(self.root(size)).decode(), timestamp_ms)
        sig = sign(self.alg, self.key_path, text.encode(), os.path.dirname(self.dir))
        kid = key_id(self.alg, self.origin, self.pub_path)
        note = text + "\n%s %s %s\n" % (EM_DASH, self.origin, base64.b64encode(kid + sig).decode())
        with open(self.path("checkpoints"), "ab") as f:
            f.write(note.encode() + b"\n")
        self.checkpoints.append((size, note))
        return note


def order_record(index, order_id=None):
    valid = index % 4 != 3
    return {
        "order_id": order_id or "ord-%05d" % index,
        "provider_id": "prov-%d" % (index % 3),
        "contract_id": None if index % 5 == 0 else "contract-2024",
        "caregiver_id": "cg-%d" % (index % 7),
        "elder_id": "elder-%d" % index,
        "street_id": "street-1",
        "service_day": "2024-05-%02d" % (index % 28 + 1),
        "status": "VALID" if valid else "INVALID",
        "reasons": [] if valid else ["GEO_DISTANCE", "EVIDENCE_EXPIRED"],
        "check_in_at": 1714521600000 + index * 60000,
        "check_out_at": 1714525200000 + index * 60000,
        "duration_minutes": 60,
        "unit_price_cents": 4000,
        "finalized_at": 1714780800000 + index,
        "ledger_index": index,
    }


def make_keys(workdir, alg):
    key = os.path.join(workdir, "py-%s.key" % alg)
    pub = os.path.join(workdir, "py-%s.pub" % alg)
    openssl("genpkey", "-algorithm", "ed25519" if alg == "ed25519" else "SM2", "-out", key)
    openssl("pkey", "-in", key, "-pubout", "-out", pub)
    return key, pub


def build_ledger(workdir, name, hash_name="sm3", alg="ed25519", keys=None, n=40,
                 checkpoints_at=(10, 25, 40), extra=2):
    key, pub = keys or make_keys(workdir, alg)
    led = PyLedger(os.path.join(workdir, name), "district-1", hash_name, alg, key, pub)
    for i in range(n + extra):
        led.append_order(i)
        if i + 1 in checkpoints_at:
            led.checkpoint(1714800000000 + i)
    return led


@pytest.fixture
def ledger(tmp_path):
    return build_ledger(str(tmp_path), "ledger")


# ---- verify ---------------------------------------------------------------------

def test_verify_accepts_a_python_written_log(ledger):
    r = run("ledger", "verify", ledger.dir, "--pubkey", ledger.pub_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("OK: carewatch.ledger/district-1/sm3: 42 entries, 3 checkpoints, "
                               "the last covering 40 entries"), r.stdout
    kid = key_id("ed25519", ledger.origin, ledger.pub_path).hex()
    assert "every signature verified with key %s" % kid in r.stdout
    assert "2 newer entries not covered" in r.stdout
    r = run("ledger", "verify", ledger.dir)
    assert r.returncode == 0 and "signatures not checked (no public key given)" in r.stdout


def test_verify_names_the_changed_entry(ledger):
    entries = bytearray(open(ledger.path("entries"), "rb").read())
    # One bit of entry 13 changed (the length of its provider_id).
    offset = 0
    for i in range(14):
        length = struct.unpack(">I", entries[offset:offset + 4])[0]
        if i == 13:
            entries[offset + 4 + 20] ^= 0x01
        offset += 4 + length
    with open(ledger.path("entries"), "wb") as f:
        f.write(entries)
    r = run("ledger", "verify", ledger.dir, "--pubkey", ledger.pub_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout.startswith("FAILED: ")
    assert "checkpoint 1 (tree size 25)" in r.stdout and "entries 10..24" in r.stdout, r.stdout
    # A log that does not verify proves nothing.
    r = run("ledger", "prove", ledger.dir, "ord-00003")
    assert r.returncode == 1 and "verify" in r.stdout, r.stdout + r.stderr


def test_verify_names_reordered_and_missing_entries(ledger):
    data = open(ledger.path("entries"), "rb").read()
    records, offset = [], 0
    while offset < len(data):
        length = struct.unpack(">I", data[offset:offset + 4])[0]
        records.append(data[offset:offset + 4 + length])
        offset += 4 + length
    swapped = records[:5] + [records[6], records[5]] + records[7:]
    with open(ledger.path("entries"), "wb") as f:
        f.write(b"".join(swapped))
    r = run("ledger", "verify", ledger.dir)
    assert r.returncode == 1 and "entry 5: its ledger_index is 6" in r.stdout, r.stdout
    with open(ledger.path("entries"), "wb") as f:
        f.write(b"".join(records[:30]))
    r = run("ledger", "verify", ledger.dir)
    assert r.returncode == 1, r.stdout
    assert "checkpoint 2 (tree size 40)" in r.stdout and "missing" in r.stdout, r.stdout
    # A torn tail: part of an entry at the end.
    with open(ledger.path("entries"), "wb") as f:
        f.write(b"".join(records) + records[0][:9])
    r = run("ledger", "verify", ledger.dir)
    assert r.returncode == 1 and "entry 42: the entries file ends inside it" in r.stdout, r.stdout
    # ... which a reader leaves out: proofs still work.
    r = run("ledger", "prove", ledger.dir, "ord-00007")
    assert r.returncode == 0, r.stderr


def test_verify_names_an_altered_checkpoint(ledger):
    text = open(ledger.path("checkpoints"), encoding="utf-8").read()
    first = ledger.checkpoints[0][1]
    altered = first.replace("timestamp 1714800000009", "timestamp 1714800000010")
    assert altered != first
    with open(ledger.path("checkpoints"), "w", encoding="utf-8") as f:
        f.write(text.replace(first, altered))
    r = run("ledger", "verify", ledger.dir, "--pubkey", ledger.pub_path)
    assert r.returncode == 1 and "checkpoint 0 (tree size 10)" in r.stdout, r.stdout
    assert "does not verify" in r.stdout
    other_pub = make_keys(os.path.dirname(ledger.dir), "ed25519")[1]
    r = run("ledger", "verify", ledger.dir, "--pubkey", other_pub)
    assert r.returncode == 1 and "not by the given key" in r.stdout, r.stdout


# ---- inclusion proofs -----------------------------------------------------------

def test_prove_prints_a_proof_an_rfc9162_verifier_accepts(ledger):
    for index in (0, 9, 17, 39):
        order_id = "ord-%05d" % index
        r = run("ledger", "prove", ledger.dir, order_id)
        assert r.returncode == 0, r.stderr
        proof = json.loads(r.stdout)
        assert proof["format"] == "carewatch-ledger-inclusion-proof/1"
        assert proof["origin"] == ledger.origin and proof["log_id"] == "district-1"
        assert proof["hash_alg"] == "sm3" and proof["order_id"] == order_id
        assert proof["leaf_index"] == index and proof["tree_size"] == 40
        entry = base64.b64decode(proof["entry"], validate=True)
        assert entry == ledger.entries[index]
        # The entry is the Kafka record: it decodes with fastavro.
        name, record = REGISTRY.decode(entry)
        assert name == "OrderFinalized" and record["order_id"] == order_id
        h = ledger.h
        assert bytes.fromhex(proof["leaf_hash"]) == leaf_hash(h, entry)
        origin, size, root, _, text, sigs = parse_note(proof["checkpoint"])
        assert (origin, size) == (ledger.origin, 40) and root == ledger.root(40)
        assert bytes.fromhex(proof["root_hash"]) == root
        path = [bytes.fromhex(p) for p in proof["proof"]]
        assert verify_inclusion(h, index, size, leaf_hash(h, entry), path, root)
        assert not verify_inclusion(h, index + 1, size, leaf_hash(h, entry), path, root)
        name, kid, sig = sigs[0]
        assert name == ledger.origin
        assert kid == key_id("ed25519", ledger.origin, ledger.pub_path)
        assert signature_ok("ed25519", ledger.pub_path, text.encode(), sig, ledger.dir)


def test_check_proof(ledger, tmp_path):
    r = run("ledger", "prove", ledger.dir, "ord-00021")
    assert r.returncode == 0, r.stderr
    path = tmp_path / "proof.json"
    path.write_text(r.stdout)
    r = run("ledger", "check-proof", str(path), "--pubkey", ledger.pub_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("OK: order ord-00021 is entry 21 of carewatch.ledger/district-1/sm3, "
                               "included in its tree of 40 entries"), r.stdout
    assert "verified" in r.stdout
    r = run("ledger", "check-proof", "-", stdin=path.read_text())
    assert r.returncode == 0 and "NOT checked" in r.stdout, r.stdout
    # Altered proofs fail with 1.
    proof = json.loads(path.read_text())
    for field, value in (("leaf_index", 22), ("tree_size", 41), ("order_id", "ord-00022"),
                         ("proof", proof["proof"][:-1]),
                         ("root_hash", ledger.root(25).hex())):
        bad = dict(proof, **{field: value})
        r = run("ledger", "check-proof", "-", stdin=json.dumps(bad))
        assert r.returncode == 1 and r.stdout.startswith("FAILED: "), (field, r.stdout)
    other_pub = make_keys(str(tmp_path), "ed25519")[1]
    r = run("ledger", "check-proof", str(path), "--pubkey", other_pub)
    assert r.returncode == 1 and "not by the given key" in r.stdout, r.stdout


def test_prove_refuses_unknown_and_uncovered_orders(ledger):
    r = run("ledger", "prove", ledger.dir, "ord-99999")
    assert r.returncode == 1 and "no entry" in r.stderr and r.stdout == "", r.stderr
    r = run("ledger", "prove", ledger.dir, "ord-00041")
    assert r.returncode == 1 and "entry 41, which no checkpoint covers yet" in r.stderr, r.stderr


# ---- consistency proofs ---------------------------------------------------------

def test_consistency(ledger, tmp_path):
    for old, new in ((10, 25), (10, 40), (25, 40), (40, 40)):
        r = run("ledger", "consistency", ledger.dir, str(old), str(new))
        assert r.returncode == 0, r.stderr
        proof = json.loads(r.stdout)
        assert proof["format"] == "carewatch-ledger-consistency-proof/1"
        assert (proof["old_size"], proof["new_size"]) == (old, new)
        h = ledger.h
        assert bytes.fromhex(proof["old_root"]) == ledger.root(old)
        assert bytes.fromhex(proof["new_root"]) == ledger.root(new)
        path = [bytes.fromhex(p) for p in proof["proof"]]
        assert verify_consistency(h, old, new, ledger.root(old), ledger.root(new), path)
        if old != new:
            assert not verify_consistency(h, old, new, ledger.root(old - 1), ledger.root(new), path)
        assert parse_note(proof["old_checkpoint"])[1] == old
        assert parse_note(proof["new_checkpoint"])[1] == new
        f = tmp_path / ("c-%d-%d.json" % (old, new))
        f.write_text(r.stdout)
        r = run("ledger", "check-consistency", str(f), "--pubkey", ledger.pub_path)
        assert r.returncode == 0 and "is a prefix of the tree of %d entries" % new in r.stdout, \
            r.stdout + r.stderr
        if old != new:
            bad = dict(proof, old_size=old + 1)
            r = run("ledger", "check-consistency", "-", stdin=json.dumps(bad))
            assert r.returncode == 1 and r.stdout.startswith("FAILED: "), r.stdout
    r = run("ledger", "consistency", ledger.dir, "11", "25")
    assert r.returncode == 1 and "no checkpoint of 11 entries" in r.stderr, r.stderr
    assert "10, 25, 40" in r.stderr


def test_a_rewritten_history_is_not_consistent(tmp_path):
    """The operator rebuilds the log with entry 3 changed and signs anew:
    every check of the new log alone passes, but its checkpoint is not an
    extension of the one published before."""
    keys = make_keys(str(tmp_path), "ed25519")
    honest = build_ledger(str(tmp_path), "honest", keys=keys, checkpoints_at=(10, 40))
    forged = PyLedger(str(tmp_path / "forged"), "district-1", "sm3", "ed25519", *keys)
    for i in range(40):
        forged.append_order(i, "ord-forged" if i == 3 else None)
        if i + 1 in (10, 40):
            forged.checkpoint(1714800000000 + i)
    assert run("ledger", "verify", forged.dir, "--pubkey", keys[1]).returncode == 0
    r = run("ledger", "consistency", forged.dir, "10", "40")
    proof = json.loads(r.stdout)
    proof["old_checkpoint"] = honest.checkpoints[0][1]
    proof["old_root"] = honest.root(10).hex()
    r = run("ledger", "check-consistency", "-", "--pubkey", keys[1], stdin=json.dumps(proof))
    assert r.returncode == 1 and "not show the tree of 10 entries to be a prefix" in r.stdout, \
        r.stdout


# ---- other hashes and keys ------------------------------------------------------

def test_sha256_log_signed_with_sm2(tmp_path):
    led = build_ledger(str(tmp_path), "sm2-ledger", hash_name="sha256", alg="sm2")
    r = run("ledger", "verify", led.dir, "--pubkey", led.pub_path)
    assert r.returncode == 0 and "carewatch.ledger/district-1/sha256" in r.stdout, \
        r.stdout + r.stderr
    r = run("ledger", "prove", led.dir, "ord-00030")
    assert r.returncode == 0, r.stderr
    proof = json.loads(r.stdout)
    h = hash_fn("sha256")
    entry = base64.b64decode(proof["entry"])
    assert verify_inclusion(h, 30, 40, leaf_hash(h, entry), [bytes.fromhex(p) for p in proof["proof"]],
                            led.root(40))
    r = run("ledger", "check-proof", "-", "--pubkey", led.pub_path, stdin=r.stdout)
    assert r.returncode == 0 and "(sm2): verified" in r.stdout, r.stdout
    r = run("ledger", "consistency", led.dir, "10", "40")
    assert r.returncode == 0, r.stderr
    r = run("ledger", "check-consistency", "-", "--pubkey", led.pub_path, stdin=r.stdout)
    assert r.returncode == 0 and "(sm2): verified" in r.stdout, r.stdout


# ---- usage -----------------------------------------------------------------------

def test_help_version_and_usage_errors(ledger, tmp_path):
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("carewatch ")
    r = run("--help")
    assert r.returncode == 0 and "ledger" in r.stdout
    r = run("ledger", "--help")
    assert r.returncode == 0 and "check-consistency" in r.stdout
    r = run("ledger", "verify", "--help")
    assert r.returncode == 0 and "usage: carewatch ledger verify <dir>" in r.stdout
    proof_file = tmp_path / "p.json"
    proof_file.write_text("{not json")
    for args in ([], ["bogus"], ["ledger"], ["ledger", "bogus"], ["ledger", "verify"],
                 ["ledger", "verify", ledger.dir, "extra"], ["ledger", "verify", ledger.dir, "-x"],
                 ["ledger", "verify", ledger.dir, "--pubkey"],
                 ["ledger", "verify", ledger.dir, "--pubkey", str(tmp_path / "missing.pub")],
                 ["ledger", "verify", str(tmp_path / "missing")],
                 ["ledger", "prove", ledger.dir],
                 ["ledger", "prove", str(tmp_path / "missing"), "ord-00001"],
                 ["ledger", "consistency", ledger.dir, "a", "25"],
                 ["ledger", "consistency", ledger.dir, "10", "-5"],
                 ["ledger", "consistency", ledger.dir, "25", "10"],
                 ["ledger", "check-proof", str(proof_file)],
                 ["ledger", "check-proof", str(tmp_path / "missing.json")],
                 ["ledger", "check-consistency", str(proof_file)],
                 ["ledger", "check-proof", ledger.path("checkpoints"), "--pubkey", ledger.key_path + "x"]):
        r = run(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert r.stderr.strip(), args
    # A private key where the public one is asked for still works: its
    # public part is used.
    r = run("ledger", "verify", ledger.dir, "--pubkey", ledger.key_path)
    assert r.returncode == 0, r.stdout + r.stderr


# ---- the commands of docs/ledger.md ---------------------------------------------

def doc_blocks():
    text = open(DOC, encoding="utf-8").read()
    return [b.strip() for b in re.findall(r"```sh\n(.*?)```", text, re.S)]


def run_block(block, cwd, env):
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, "docs/ledger.md block failed:\n%s\n--- stdout\n%s\n--- stderr\n%s" % (
        block, r.stdout, r.stderr)
    return r.stdout


def test_every_documented_command_runs(tmp_path):
    blocks = doc_blocks()
    assert blocks, "docs/ledger.md has no sh blocks"
    work = str(tmp_path)
    env = dict(os.environ, PATH=os.path.dirname(CAREWATCH) + os.pathsep + os.environ["PATH"])
    keygen = [b for b in blocks if "genpkey" in b]
    sm2_checks = [b for b in blocks if "distid" in b and "genpkey" not in b]
    audits = [b for b in blocks if b not in keygen and b not in sm2_checks]
    assert len(keygen) == 2 and sm2_checks and audits
    for block in keygen:
        run_block(block, work, env)
    # The documented keys sign the logs the other blocks audit.
    led = build_ledger(work, "ledger", keys=(os.path.join(work, "ledger.key"),
                                             os.path.join(work, "ledger.pub")))
    sm2 = build_ledger(work, "ledger-sm2", alg="sm2",
                       keys=(os.path.join(work, "ledger-sm2.key"),
                             os.path.join(work, "ledger-sm2.pub")))
    subcommands = set()
    for block in audits:
        out = run_block(block, work, dict(env, LEDGER=led.dir, ORDER="ord-00017", OLD="10", NEW="40"))
        subcommands.update(re.findall(r"carewatch ledger ([a-z-]+)", block))
        if "check-proof" in block or "verify" in block:
            assert "OK: " in out or "Signature Verified Successfully" in out, out
        if "openssl dgst" in block:
            with open(os.path.join(work, "proof.json")) as f:
                assert json.load(f)["leaf_hash"] in out, out
    for block in sm2_checks:
        out = run_block(block, work, dict(env, LEDGER=sm2.dir))
        assert "Signature Verified Successfully" in out, out
    assert subcommands >= {"verify", "prove", "check-proof", "consistency", "check-consistency"}
