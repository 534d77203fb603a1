from functions.domain.requests.reference import is_valid, luhn_digit, new_reference


def test_known_luhn_numbers() -> None:
    assert luhn_digit("7992739871") == "3"  # the textbook example 79927398713
    assert is_valid("79927398713")
    assert not is_valid("79927398710")


def test_new_references_are_digits_with_a_valid_check_digit() -> None:
    refs = {new_reference() for _ in range(2000)}
    assert len(refs) == 2000
    for ref in refs:
        assert ref.isdigit()
        assert 8 <= len(ref) <= 12
        assert ref[0] != "0"
        assert is_valid(ref)


def test_a_mistyped_digit_or_swapped_neighbours_are_caught() -> None:
    ref = new_reference()
    wrong = ref[:3] + str((int(ref[3]) + 1) % 10) + ref[4:]
    assert not is_valid(wrong)
    i = next((i for i in range(len(ref) - 2) if ref[i] != ref[i + 1]), None)
    if i is not None and {ref[i], ref[i + 1]} != {"0", "9"}:
        swapped = ref[:i] + ref[i + 1] + ref[i] + ref[i + 2 :]
        assert not is_valid(swapped)


def test_non_digits_and_wrong_lengths_are_refused() -> None:
    for bad in ["", "1234567", "1234567890123", "12345a78", "１２３４５６７８", "12 345 678"]:
        assert not is_valid(bad)
