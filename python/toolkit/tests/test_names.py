"""Safe tool names: what every model API accepts, unique, and the same from run to run."""

import re

from go_micro_toolkit import is_safe, safe_names

SAFE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def test_dotted_names_become_underscored_and_safe_names_stay():
    assert safe_names(["helloworld.Helloworld.Call", "micro_store_list", "a-b"]) == [
        "helloworld_Helloworld_Call",
        "micro_store_list",
        "a-b",
    ]


def test_names_that_would_collide_get_distinct_stable_hashes():
    names = safe_names(["a.b_c", "a_b.c"])
    assert names[0] != names[1]
    assert all(n.startswith("a_b_c_") and SAFE.match(n) for n in names)
    assert safe_names(["a.b_c", "a_b.c"]) == names


def test_long_names_are_cut_to_64_with_a_hash():
    long = "service." + "X" * 100 + ".Call"
    (name,) = safe_names([long])
    assert len(name) == 64 and SAFE.match(name)
    assert safe_names(["service." + "X" * 100 + ".Other"])[0] != name


def test_a_sanitized_name_that_looks_hashed_is_hashed_again_so_it_cannot_clash():
    (name,) = safe_names(["svc.x_deadbeef"])
    assert name != "svc_x_deadbeef" and is_safe(name)
    assert safe_names(["svc_x_deadbeef"]) == ["svc_x_deadbeef"]
