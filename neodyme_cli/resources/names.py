"""Resource names: a singular in, every name the generated code uses out.

`blog_post` gives the class `BlogPost`, the modules `models/blog_post.py` and
`routes/blog_posts.py`, the table `blog_posts` and the path `/api/v1/blog-posts/`
(hyphens in URLs, underscores in Python and SQL).
"""

import builtins
import keyword
import re
from dataclasses import dataclass
from typing import Final

from neodyme_cli.resources.errors import InvalidResourceError

MAX_NAME_LENGTH: Final = 30

# Names a resource cannot take, in either number: the project's own modules in any variant
# (a later `neodyme add auth` or `add monitoring` would bring a file of the same name), and the
# names the generated code imports or uses for other things.
RESERVED_NAMES: Final = frozenset(
    {
        # src/<package>/ and its sub-packages, in every variant
        "access_log", "auth", "auth_session", "auth_settings", "base", "config", "core",
        "core_settings", "database", "dep", "deps", "exception", "exceptions", "health", "http",
        "logging", "main", "me", "metric", "metrics", "model", "models", "monitoring_settings",
        "param", "params", "password", "passwords", "probe", "probes", "rate_limit",
        "repositories", "repository", "route", "routes", "routing", "security", "service",
        "service_settings", "services", "setting", "settings", "user", "users",
        # tests/ in every variant
        "access", "app", "error", "errors", "openapi", "request_log", "run_command", "server",
        "test", "tests", "migration", "migrations", "alembic",
        # what the generated modules import or name otherwise
        "annotated", "client", "date", "datetime", "decimal", "enum", "field", "path", "protocol",
        "query", "request", "response", "router", "select", "session", "status", "uuid",
    }
)  # fmt: skip

# Plurals that the rules below would get wrong; words whose plural is the word itself.
IRREGULAR_PLURALS: Final = {
    "alumnus": "alumni", "analysis": "analyses", "appendix": "appendices", "cactus": "cacti",
    "child": "children", "criterion": "criteria", "datum": "data", "echo": "echoes",
    "foot": "feet", "goose": "geese", "half": "halves", "hero": "heroes", "knife": "knives",
    "leaf": "leaves", "life": "lives", "loaf": "loaves", "man": "men", "matrix": "matrices",
    "medium": "media", "mouse": "mice", "ox": "oxen", "person": "people",
    "phenomenon": "phenomena", "potato": "potatoes", "quiz": "quizzes", "shelf": "shelves",
    "thief": "thieves", "tomato": "tomatoes", "tooth": "teeth", "vertex": "vertices",
    "veto": "vetoes", "wife": "wives", "wolf": "wolves", "woman": "women",
}  # fmt: skip
UNCOUNTABLE: Final = frozenset(
    {
        "aircraft", "data", "deer", "equipment", "feedback", "fish", "hardware", "information",
        "lens", "metadata", "news", "series", "sheep", "software", "species", "staff",
    }
)  # fmt: skip

_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


@dataclass(frozen=True)
class ResourceNames:
    """Every name of one resource, derived from its singular."""

    singular: str  # blog_post: variables, models/blog_post.py, repositories/blog_post.py
    plural: str  # blog_posts: the table, services/blog_posts.py, routes/blog_posts.py

    @property
    def class_name(self) -> str:
        """BlogPost"""
        return pascal_case(self.singular)

    @property
    def path(self) -> str:
        """blog-posts, as in /api/v1/blog-posts/"""
        return self.plural.replace("_", "-")

    @property
    def words(self) -> str:
        """blog post, for sentences"""
        return self.singular.replace("_", " ")

    @property
    def plural_words(self) -> str:
        """blog posts, for sentences"""
        return self.plural.replace("_", " ")


def resource_names(name: str) -> ResourceNames:
    """The names of the resource `name` (a singular, snake_case or kebab-case), or the reason
    it cannot be used."""
    singular = name.strip().replace("-", "_")
    if not _NAME.match(singular):
        suggestion = snake_case(name)
        raise InvalidResourceError(
            f"{name!r} is not a resource name: use lower-case letters, digits and '_', "
            "starting with a letter.",
            hint=f"Try `{suggestion}`." if _NAME.match(suggestion) else "E.g. `blog_post`.",
        )
    if len(singular) > MAX_NAME_LENGTH:
        raise InvalidResourceError(
            f"{name!r} is {len(singular)} characters long; a resource name takes up to "
            f"{MAX_NAME_LENGTH}.",
            hint="Choose a shorter name.",
        )
    names = ResourceNames(singular, pluralize(singular))
    for word in (names.singular, names.plural):
        reason = _reserved_reason(word)
        if reason is not None:
            raise InvalidResourceError(
                f"{name!r} cannot be a resource: {word!r} {reason}.",
                hint="Choose a more specific name, e.g. `blog_post` rather than `post` "
                "when `post` is taken.",
            )
    singular_guess = _singular_of(singular)
    if singular_guess is not None:
        raise InvalidResourceError(
            f"{name!r} looks plural; neodyme takes the singular and makes the plural itself.",
            hint=f"Try `{singular_guess}` (its table and path: {pluralize(singular_guess)}).",
        )
    return names


def pluralize(singular: str) -> str:
    """The plural of a snake_case name: its last word is the one that changes."""
    *head, word = singular.split("_")
    return "_".join([*head, _plural_word(word)])


def pascal_case(snake: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_"))


def snake_case(text: str) -> str:
    """BlogPost, blog-post, Blog Post -> blog_post: for suggestions."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text.strip())
    return "_".join(re.findall(r"[a-z0-9]+", spaced.lower()))


def _plural_word(word: str) -> str:
    if word in UNCOUNTABLE:
        return word
    if word in IRREGULAR_PLURALS:
        return IRREGULAR_PLURALS[word]
    if word.endswith("sis"):
        return word[:-3] + "ses"
    if word.endswith("y") and word[-2:-1] not in ("a", "e", "i", "o", "u", ""):
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


def _singular_of(name: str) -> str | None:
    """The singular `name` seems to be the plural of, or None when it looks singular."""
    *head, word = name.split("_")
    singulars = {plural: singular for singular, plural in IRREGULAR_PLURALS.items()}
    if word in UNCOUNTABLE or word.endswith(("ss", "us", "is", "as", "os", "ics")):
        return None
    if word in singulars:
        guess = singulars[word]
    elif word.endswith("ies") and len(word) > 4:
        guess = word[:-3] + "y"
    elif word.endswith(("sses", "xes", "zes", "ches", "shes")):
        guess = word[:-2]
    elif word.endswith("s") and len(word) > 3:
        guess = word[:-1]
    else:
        return None
    return "_".join([*head, guess]) if _plural_word(guess) == word else None


def _reserved_reason(word: str) -> str | None:
    if keyword.iskeyword(word) or keyword.issoftkeyword(word):
        return "is a Python keyword"
    if word in dir(builtins):
        return "is a Python built-in, which the generated code would shadow"
    if word in RESERVED_NAMES:
        return "is taken by the project's own modules or the code neodyme generates"
    return None
