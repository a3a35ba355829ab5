"""What `neodyme add resource` refuses, and why: one table of bad specs, checked before any
file is written (the plan is computed from the project, which stays as it was)."""

import hashlib
import shutil
from pathlib import Path

import pytest

from neodyme_cli.errors import BadInputError
from neodyme_cli.resources import parse_resource, plan_resource
from neodyme_cli.resources.names import RESERVED_NAMES, pluralize, resource_names
from neodyme_cli.resources.spec import parse_field
from tests.test_resources import answers_of, rendered_project, template_module_stems

# (arguments of `neodyme add resource`, a fragment of the message that says why not)
BAD_SPECS: list[tuple[list[str], str]] = [
    # names
    (["Post", "title:str"], "not a resource name"),
    (["1post", "title:str"], "not a resource name"),
    (["blog post", "title:str"], "not a resource name"),
    (["posts", "title:str"], "looks plural"),
    (["categories", "title:str"], "looks plural"),
    (["class", "title:str"], "keyword"),
    (["match", "title:str"], "keyword"),
    (["list", "title:str"], "built-in"),
    (["user", "title:str"], "taken by the project"),
    (["users", "title:str"], "taken by the project"),
    (["auth", "title:str"], "taken by the project"),
    (["me", "title:str"], "taken by the project"),
    (["health", "title:str"], "taken by the project"),
    (["deps", "title:str"], "taken by the project"),
    (["param", "title:str"], "taken by the project"),
    (["base", "title:str"], "taken by the project"),
    (["metric", "title:str"], "taken by the project"),
    (["session", "title:str"], "taken by the project"),
    (["a" * 31, "title:str"], "up to 30"),
    (["post"], "no fields"),
    # the field grammar
    (["post", "title"], "a field is `name:type`"),
    (["post", ":str"], "a field is `name:type`"),
    (["post", "title:string"], "did you mean 'str'"),
    (["post", "count:integer"], "did you mean 'int'"),
    (["post", "at:timestamp"], "did you mean 'datetime'"),
    (["post", "title:blob"], "unknown type 'blob'"),
    (["post", "Title:str"], "not a field name"),
    (["post", "class:str"], "not a field name"),
    (["post", "a" * 41 + ":str"], "up to 40"),
    (["post", "title:str:0"], "length is 1 to"),
    (["post", "title:str:99999999"], "length is 1 to"),
    (["post", "title:str:long"], "whole number"),
    (["post", "count:int:4"], "takes no argument"),
    (["post", "price:decimal:16,2"], "precision"),
    (["post", "price:decimal:4,5"], "precision"),
    (["post", "status:enum"], "two values or more"),
    (["post", "status:enum:draft"], "two values or more"),
    (["post", "status:enum:a,a"], "two values or more"),
    (["post", "status:enum:in-review,in_review"], "two values or more"),
    (["post", "status:enum:draft,2nd"], "not an enum value"),
    (["post", "status:enum:draft,no way"], "not an enum value"),
    (["post", "author:ref"], "names the table"),
    (["post", "author_id:ref:users"], "author_id_id"),
    (["post", "session:ref:users"], "the tests keep the row"),
    # reserved field names
    (["post", "id:int"], "every resource has it"),
    (["post", "created_at:datetime"], "every resource has it"),
    (["post", "skip:int"], "query parameter"),
    (["post", "date:date"], "imports the type"),
    (["post", "str:str"], "use the type"),
    (["post", "json:text"], "shadow an attribute"),
    (["post", "model_name:str"], "shadow an attribute"),
    (["post", "title:str", "title:text"], "comes twice"),
    (["post", "author:ref:users", "author_id:int"], "comes twice"),
    (["post", "owner:ref:users", "--owned"], "comes twice"),
    (["post", "create:enum:a,b"], "would clash with the model"),
    (["a" * 30, "b" * 25 + ":enum:x,y"], "too long to be declared"),
    # suffixes and defaults
    (["post", "body:text!"], "`!`"),
    (["post", "done:bool!"], "`!`"),
    (["post", "weight:float!"], "`!`"),
    (["post", "slug:str!=x"], "unique field with a default"),
    (["post", "author:ref:users=1"], "has no default"),
    (["post", "count:int=many"], "not an integer"),
    (["post", "count:int=3000000000"], "not an integer"),
    (["post", "weight:float=inf"], "not a finite number"),
    (["post", "price:decimal:4,2=123.45"], "digits before the point"),
    (["post", "price:decimal:6,2=1.234"], "digits before the point"),
    (["post", "done:bool=yes"], "not true or false"),
    (["post", "on:date=2024-02-30"], "not"),
    (["post", "on:date=yesterday"], "not a date"),
    (["post", "at:datetime=2024-01-31T09:00:00"], "with its offset"),
    (["post", "token:uuid=nope"], "not a UUID"),
    (["post", "contact:email=nobody"], "not an email"),
    (["post", "site:url=ftp://example.com"], "not an http or https URL"),
    (["post", "size:enum:s,m=l"], "one of s, m"),
    (["post", "title:str:3=long"], "up to 3"),
    (["post", 'title:str=say "hi"'], "without"),
    (["post", "parent:ref:posts"], "itself"),
    # what needs the project: the names of its tables, its modules
    (["very_long_resource_name_xyz", "a_field_with_a_long_enough_name_too:str!"], "PostgreSQL"),
]


def parse(arguments: list[str]) -> None:
    owned = "--owned" in arguments
    name, *fields = [argument for argument in arguments if argument != "--owned"]
    parse_resource(name, fields, owned=owned)


@pytest.mark.parametrize(
    ("arguments", "reason"), BAD_SPECS, ids=[" ".join(arguments)[:50] for arguments, _ in BAD_SPECS]
)
def test_a_bad_spec_is_refused_with_its_reason(arguments: list[str], reason: str) -> None:
    with pytest.raises(BadInputError) as refused:
        parse(arguments)

    assert reason in refused.value.message
    assert refused.value.exit_code == 2
    assert refused.value.hint


@pytest.mark.parametrize(
    ("singular", "plural"),
    [
        ("post", "posts"), ("category", "categories"), ("box", "boxes"), ("person", "people"),
        ("blog_post", "blog_posts"), ("sales_person", "sales_people"), ("campus", "campuses"),
        ("day", "days"), ("analysis", "analyses"), ("child", "children"), ("news", "news"),
        ("address", "addresses"), ("hero", "heroes"), ("photo", "photos"), ("leaf", "leaves"),
    ],
)  # fmt: skip
def test_the_plural_names_the_table_and_the_path(singular: str, plural: str) -> None:
    names = resource_names(singular)

    assert (pluralize(singular), names.plural) == (plural, plural)
    assert names.path == plural.replace("_", "-")


def test_names_in_every_form() -> None:
    names = resource_names("blog-post")

    assert (names.singular, names.plural, names.class_name) == (
        "blog_post",
        "blog_posts",
        "BlogPost",
    )
    assert (names.path, names.words) == ("blog-posts", "blog post")


def test_a_plural_given_is_refused_with_its_singular_as_the_hint() -> None:
    with pytest.raises(BadInputError) as refused:
        resource_names("categories")

    assert refused.value.hint is not None and "`category`" in refused.value.hint


def test_every_module_of_the_template_is_a_reserved_name() -> None:
    """A resource named after a module of any variant would clash with it now or after a
    later `neodyme add`: the template's file names are reserved, in either number."""
    missing = sorted(
        stem
        for stem in template_module_stems()
        if stem not in RESERVED_NAMES and pluralize(stem) not in RESERVED_NAMES
        and not any(pluralize(name) == stem for name in RESERVED_NAMES)
    )  # fmt: skip

    assert missing == []


def test_a_field_spec_in_full() -> None:
    field = parse_field("price:decimal:10,4?=1.5")

    assert (field.name, field.type, field.precision, field.scale) == ("price", "decimal", 10, 4)
    assert field.nullable and not field.unique
    assert str(field.default) == "1.5000"


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and ".git" not in path.parts:
            digest.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        (["post", "author:ref:authors"], "no table 'authors'"),
        (["post", "login:ref:auth_sessions"], "no table 'auth_sessions'"),
        (["post", "title:str", "--owned"], "--owned needs users who sign in"),
    ],
    ids=["unknown table", "a table that is not a resource", "owned without auth"],
)
def test_what_the_project_cannot_take_is_refused_and_nothing_changes(
    plain_project: Path, arguments: list[str], reason: str
) -> None:
    owned = "--owned" in arguments
    name, *fields = [argument for argument in arguments if argument != "--owned"]
    before = tree_digest(plain_project)

    with pytest.raises(BadInputError) as refused:
        plan_resource(plain_project, parse_resource(name, fields, owned=owned),
                      answers=answers_of(plain_project))  # fmt: skip

    assert reason in refused.value.message
    assert refused.value.exit_code == 2
    assert "neodyme add auth" in (refused.value.hint or "") or not owned
    assert tree_digest(plain_project) == before


def test_an_existing_resource_is_refused(plain_project: Path) -> None:
    spec = parse_resource("post", ["title:str"])
    plan = plan_resource(plain_project, spec, answers=answers_of(plain_project))
    for path, content in plan.files.items():
        (plain_project / path).write_text(content)

    with pytest.raises(BadInputError, match="exists"):
        plan_resource(plain_project, spec, answers=answers_of(plain_project))


def test_a_project_of_an_older_template_is_told_to_update(plain_project: Path) -> None:
    (plain_project / "src" / "demo_app" / "routes" / "deps.py").unlink()

    with pytest.raises(BadInputError) as refused:
        plan_resource(plain_project, parse_resource("post", ["title:str"]),
                      answers=answers_of(plain_project))  # fmt: skip

    assert refused.value.hint is not None and "neodyme update" in refused.value.hint


@pytest.fixture(scope="module")
def pristine_plain_project(
    tmp_path_factory: pytest.TempPathFactory, template_snapshot: Path
) -> Path:
    return rendered_project(template_snapshot, tmp_path_factory.mktemp("pristine"), auth=False)


@pytest.fixture
def plain_project(pristine_plain_project: Path, tmp_path: Path) -> Path:
    """A project without auth, rendered once for the module; each test has a copy."""
    return Path(shutil.copytree(pristine_plain_project, tmp_path / "demo-app", symlinks=True))
