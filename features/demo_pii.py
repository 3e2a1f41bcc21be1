"""Fake PII of the demo book: names from short lists, national ids ('NI' + 9 digits),
phones under the unassigned ``+999`` prefix and ``example.*`` e-mails, never a real
person. Deterministic per customer id, so a repeat applicant keeps one identity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["fake_pii"]


_FIRST_NAMES = (
    "Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Robin", "Jamie", "Avery",
    "Riley", "Quinn", "Rowan", "Emery", "Hayden", "Skyler", "Dana", "Kim", "Lee",
    "Noor", "Ari", "Mika", "Sasha", "Nico", "Remy", "Eden", "Jules", "Kai", "Luca",
    "Milan", "Noa", "Paz", "Reese", "Sage", "Tove", "Uma", "Vic", "Wren", "Yael",
    "Zora", "Ilya",
)
_LAST_NAMES = (
    "Ashdown", "Birchwell", "Coldmere", "Dunstable", "Elmsworth", "Fairbrook",
    "Greystone", "Hollowell", "Ironside", "Juniper", "Kestrel", "Larkfield",
    "Marlowe", "Northcott", "Oakhurst", "Pembrook", "Quarry", "Redfern", "Stillwater",
    "Thornbury", "Upwood", "Valemont", "Whitcombe", "Yarrow", "Zephyrine", "Ambleton",
    "Brackwood", "Cresswold", "Dovecote", "Eastmarch", "Foxglove", "Glenmoor",
    "Heathcliffe", "Inglewood", "Kingsmere", "Lowbridge", "Millbank", "Netherby",
    "Orchardson", "Penhallow",
)
_EMAIL_DOMAINS = ("example.com", "example.org", "example.net")


def fake_pii(customer_id: np.ndarray, rank: np.ndarray) -> dict[str, pd.Series]:
    """Fake names, national ids ('NI' + 9 digits), phones (+999 ...) and e-mails."""
    mix = (rank * 2_654_435_761) % (2**32)
    first_i = (mix % len(_FIRST_NAMES)).astype(np.int32)
    last_i = ((mix // 64) % len(_LAST_NAMES)).astype(np.int32)
    first = pa.array(_FIRST_NAMES).take(pa.array(first_i))
    last = pa.array(_LAST_NAMES).take(pa.array(last_i))
    full_name = pc.binary_join_element_wise(first, last, " ")
    # bijections of the customer id modulo 10**9 (multipliers coprime with 10): unique per customer
    nid = (customer_id * 7_919 + 104_729) % 1_000_000_000
    national_id = pc.binary_join_element_wise("NI", pc.utf8_lpad(pc.cast(pa.array(nid), pa.string()), 9, "0"), "")
    ph = (customer_id * 3_571 + 7_777_777) % 1_000_000_000
    phone_digits = pc.utf8_lpad(pc.cast(pa.array(ph), pa.string()), 9, "0")
    phone = pc.binary_join_element_wise(
        "+999 ", pc.utf8_slice_codeunits(phone_digits, 0, 3), " ", pc.utf8_slice_codeunits(phone_digits, 3, 9), ""
    )
    domain = pa.array(_EMAIL_DOMAINS).take(pa.array((customer_id % 3).astype(np.int32)))
    local = pc.utf8_lower(
        pc.binary_join_element_wise(first, ".", last, pc.cast(pa.array(customer_id % 100_000), pa.string()), "")
    )
    email = pc.binary_join_element_wise(local, "@", domain, "")
    return {
        "full_name": full_name.to_pandas(),
        "national_id": national_id.to_pandas(),
        "phone": phone.to_pandas(),
        "email": email.to_pandas(),
    }
