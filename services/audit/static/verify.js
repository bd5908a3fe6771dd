// An Sinh inspector dashboard: check in the browser that an event of a timeline is in the
// ledger, with nothing but WebCrypto. For the leaf behind a "verify" button it fetches the
// event's canonical bytes, its RFC 6962 audit path and the signed tree head, recomputes
// the leaf hash (SHA-256(0x00 || bytes)) and the root (RFC 9162 §2.1.3.2), compares that
// root with the SIGNED head's root, and checks the head's Ed25519 signature with the
// ledger's public key. Where WebCrypto or its Ed25519 is missing, the server's own check
// is shown and labelled as such.
"use strict";

(function () {
  const messagesElement = document.getElementById("verify-messages");
  if (!messagesElement) {
    return;
  }
  const MESSAGES = JSON.parse(messagesElement.textContent);

  class ProofFailure extends Error {}

  function hexToBytes(hex) {
    if (typeof hex !== "string" || hex.length % 2 !== 0 || /[^0-9a-f]/i.test(hex)) {
      throw new ProofFailure(MESSAGES.malformed);
    }
    const bytes = new Uint8Array(hex.length / 2);
    for (let i = 0; i < bytes.length; i += 1) {
      bytes[i] = parseInt(hex.substr(i * 2, 2), 16);
    }
    return bytes;
  }

  function bytesToHex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function base64ToBytes(text) {
    const raw = atob(text);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i += 1) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes;
  }

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }

  function equal(a, b) {
    if (a.length !== b.length) {
      return false;
    }
    let diff = 0;
    for (let i = 0; i < a.length; i += 1) {
      diff |= a[i] ^ b[i];
    }
    return diff === 0;
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  const leafHash = (bytes) => sha256(concat(Uint8Array.of(0), bytes));
  const nodeHash = (left, right) => sha256(concat(Uint8Array.of(1), left, right));

  // RFC 9162 §2.1.3.2, with BigInt so that leaf indexes past 2^31 stay exact.
  async function rootFromInclusionProof(index, size, leaf, path) {
    let fn = BigInt(index);
    let sn = BigInt(size) - 1n;
    if (fn < 0n || fn > sn) {
      throw new ProofFailure(MESSAGES.outside);
    }
    let result = leaf;
    for (const sibling of path) {
      if (sibling.length !== 32) {
        throw new ProofFailure(MESSAGES.malformed);
      }
      if (sn === 0n) {
        throw new ProofFailure(MESSAGES.too_long);
      }
      if ((fn & 1n) === 1n || fn === sn) {
        result = await nodeHash(sibling, result);
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      } else {
        result = await nodeHash(result, sibling);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    if (sn !== 0n) {
      throw new ProofFailure(MESSAGES.too_short);
    }
    return result;
  }

  // RFC 6962 §3.5 TreeHeadSignature: v1, tree_hash, uint64 timestamp, uint64 size, root.
  function treeHeadSigningInput(head) {
    const numbers = new DataView(new ArrayBuffer(16));
    numbers.setBigUint64(0, BigInt(head.timestamp_ms));
    numbers.setBigUint64(8, BigInt(head.tree_size));
    return concat(Uint8Array.of(0, 1), new Uint8Array(numbers.buffer), hexToBytes(head.root_hash));
  }

  // "valid", "invalid" or "unsupported" (no Ed25519 in this browser's WebCrypto).
  async function headSignature(head, key) {
    const raw = base64ToBytes(key.raw_base64);
    if (bytesToHex(await sha256(raw)) !== key.key_id || key.key_id !== head.key_id) {
      return "invalid";
    }
    let publicKey;
    try {
      publicKey = await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
    } catch (error) {
      return "unsupported";
    }
    const signature = base64ToBytes(head.signature);
    const valid = await crypto.subtle.verify(
      { name: "Ed25519" }, publicKey, signature, treeHeadSigningInput(head));
    return valid ? "valid" : "invalid";
  }

  async function getJSON(url) {
    const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) {
      throw new Error(`${url}: ${response.status}`);
    }
    return response.json();
  }

  function show(output, state, text, detail) {
    output.dataset.state = state;
    output.className = `verify-result verify-${state}`;
    output.textContent = text;
    if (detail) {
      const small = document.createElement("small");
      small.textContent = ` ${detail}`;
      output.appendChild(small);
    }
  }

  async function serverCheck(leaf) {
    return getJSON(`/dashboard/api/verify?leaf_index=${encodeURIComponent(leaf)}`);
  }

  async function verifyInBrowser(button, leaf) {
    const [event, proof, key] = await Promise.all([
      getJSON(`/dashboard/api/events/${encodeURIComponent(leaf)}`),
      getJSON(`/dashboard/api/proofs/inclusion?leaf_index=${encodeURIComponent(leaf)}`),
      getJSON("/ledger/public-key"),
    ]);
    const bytes = base64ToBytes(event.event_bytes);
    let recorded;
    try {
      recorded = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    } catch (error) {
      throw new ProofFailure(MESSAGES.other_event);
    }
    if (!recorded || recorded.id !== button.dataset.eventId) {
      throw new ProofFailure(MESSAGES.other_event);
    }
    const head = proof.tree_head;
    if (!head || head.tree_size !== proof.tree_size || proof.leaf_index !== Number(leaf)) {
      throw new ProofFailure(MESSAGES.no_head);
    }
    const path = proof.audit_path.map(hexToBytes);
    const root = await rootFromInclusionProof(leaf, head.tree_size, await leafHash(bytes), path);
    if (!equal(root, hexToBytes(head.root_hash))) {
      throw new ProofFailure(MESSAGES.root_mismatch);
    }
    let signature = await headSignature(head, key);
    let byServer = false;
    if (signature === "unsupported") {
      const checked = await serverCheck(leaf);
      signature = checked.signature && checked.root_hash === head.root_hash ? "valid" : "invalid";
      byServer = true;
    }
    if (signature !== "valid") {
      throw new ProofFailure(MESSAGES.bad_signature);
    }
    const detail = MESSAGES.detail
      .replace("{size}", String(head.tree_size))
      .replace("{root}", head.root_hash.slice(0, 16));
    return `${byServer ? MESSAGES.verified_server_signature : MESSAGES.verified} ${detail}`;
  }

  async function verify(button) {
    const leaf = button.dataset.leaf;
    const output = document.getElementById(button.getAttribute("aria-controls"));
    show(output, "pending", MESSAGES.checking);
    button.disabled = true;
    try {
      if (!window.isSecureContext || !window.crypto || !window.crypto.subtle) {
        const checked = await serverCheck(leaf);
        const ok = checked.inclusion && checked.signature;
        show(output, ok ? "verified" : "failed", ok ? MESSAGES.verified_server : MESSAGES.failed);
      } else {
        show(output, "verified", await verifyInBrowser(button, leaf));
      }
    } catch (error) {
      if (error instanceof ProofFailure) {
        show(output, "failed", MESSAGES.failed, error.message);
      } else {
        show(output, "error", MESSAGES.error, error.message);
      }
    } finally {
      button.disabled = false;
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button.verify");
    if (button) {
      event.preventDefault();
      verify(button);
    }
  });
})();
