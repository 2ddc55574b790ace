"""The mutations the fuzz tests apply to valid input (specs, answers): characters and tokens deleted,
duplicated, swapped and inserted, drawn by hypothesis."""

from hypothesis import strategies as st


def mutated(texts: list[str], alphabet: list[str]) -> st.SearchStrategy[str]:
    """One of ``texts`` with one to five mutations; an insertion draws from ``alphabet``."""

    @st.composite
    def strategy(draw):
        text = draw(st.sampled_from(texts))
        for _ in range(draw(st.integers(1, 5))):
            op = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "tokens"]))
            if not text:
                break
            k = draw(st.integers(0, len(text) - 1))
            if op == "delete":
                text = text[:k] + text[k + draw(st.integers(1, 8)):]
            elif op == "duplicate":
                j = min(len(text), k + draw(st.integers(1, 40)))
                text = text[:j] + text[k:j] + text[j:]
            elif op == "swap" and k + 1 < len(text):
                text = text[:k] + text[k + 1] + text[k] + text[k + 2:]
            elif op == "insert":
                text = text[:k] + draw(st.sampled_from(alphabet)) + text[k:]
            else:
                tokens = text.split(" ")
                a, b = (draw(st.integers(0, len(tokens) - 1)) for _ in range(2))
                action = draw(st.sampled_from(["drop", "copy", "swap"]))
                if action == "drop":
                    tokens.pop(a)
                elif action == "copy":
                    tokens.insert(a, tokens[b])
                else:
                    tokens[a], tokens[b] = tokens[b], tokens[a]
                text = " ".join(tokens)
        return text

    return strategy()
