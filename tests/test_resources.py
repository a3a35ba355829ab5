"""`neodyme add resource`, through its library: what a resource writes, and a project given
resources passing all its own checks (ruff, mypy --strict, pytest, Alembic) on both databases,
with auth and without, and Schemathesis against it served.

The plan is applied here by writing its files and committing them, as the CLI will do through
the merge machinery.
"""

import re
import secrets
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from neodyme_cli.resources import ResourcePlan, parse_resource, plan_resource
from neodyme_cli.resources.project import read_project
from neodyme_cli.resources.render import render_resource
from tests.conftest import REPO, git
from tests.projects import passes_its_checks, project_env, run

TOOLS = Path(sys.executable).parent
RUFF = str(TOOLS / "ruff")
SCHEMATHESIS = str(TOOLS / "schemathesis")
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance,response_headers_conformance"
)
SUPERUSER = ("root@example.com", "correct horse battery staple")

# One resource with every field type and suffix, one that refers to it, one owned by its users.
GADGET = [
    "gadget", "name:str:80!", "notes:text?", "count:int=0", "weight:float?", "price:decimal:10,2",
    "active:bool=true", "released_on:date?", "seen_at:datetime?", "token:uuid!", "contact:email",
    "homepage:url?", "size:enum:small,medium,large=medium", "maker:ref:users",
]  # fmt: skip
PART = ["part", "gadget:ref:gadgets", "label:str", "spare_for:ref:gadgets?", "code:str:3!"]
NOTE = ["note", "title:str:120", "body:text?", "--owned"]


def rendered_project(
    template: Path, parent: Path, *, name: str = "demo-app", database: str = "sqlite",
    auth: bool = True,
) -> Path:  # fmt: skip
    """A project rendered from the template snapshot with Copier, committed to git."""
    from copier import run_copy

    project = parent / name
    data = {"project_name": name, "database": database, "auth": auth}
    run_copy(str(template), project, data=data, defaults=True, quiet=True)
    git("init", "--quiet", cwd=project)
    git("add", "-A", cwd=project)
    git("commit", "--quiet", "-m", "Create the project", cwd=project)
    return project


def answers_of(project: Path) -> dict[str, Any]:
    answers: dict[str, Any] = yaml.safe_load((project / ".copier-answers.yml").read_text())
    return answers


def add_resource(project: Path, *arguments: str, before_auth: bool = False) -> ResourcePlan:
    """What `neodyme add resource ARGUMENTS` does: plan, write, commit. With `before_auth`,
    the resource is made as in the project without its auth module (then given it)."""
    owned = "--owned" in arguments
    name, *fields = [argument for argument in arguments if argument != "--owned"]
    spec = parse_resource(name, fields, owned=owned)
    if before_auth:
        plan = render_resource(
            replace(read_project(project, answers_of(project)), auth=False), spec
        )
    else:
        plan = plan_resource(project, spec, answers=answers_of(project))
    for path, content in plan.files.items():
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(content)
    git("add", "-A", cwd=project)
    git("commit", "--quiet", "-m", f"Add the resource {name}", cwd=project)
    return plan


def template_module_stems() -> set[str]:
    """The module names of the template's packages and API tests, in every variant."""
    package = REPO / "template" / "src" / "{{ package_name }}"
    folders = [package / part for part in ("models", "repositories", "services", "routes")]
    paths = [path for folder in folders for path in folder.iterdir()]
    paths += [path for path in (REPO / "template" / "tests" / "api").iterdir()]
    stems = set()
    for path in paths:
        name = re.sub(r"\{% if [^%]+ %\}(.*?)\{% endif %\}", r"\1", path.name)
        stem = name.removesuffix(".jinja").removesuffix(".py").removeprefix("test_")
        if stem and not stem.startswith("_") and "." not in stem:
            stems.add(stem)
    return stems


def ruff_problems(project: Path, paths: list[Path]) -> str:
    """What the project's own ruff (its pyproject.toml) says of these files: nothing, ideally."""
    names = [str(path.relative_to(project)) for path in paths]
    found = []
    for command in ([RUFF, "check", "--no-cache", *names],
                    [RUFF, "format", "--check", "--no-cache", *names]):  # fmt: skip
        done = subprocess.run(command, cwd=project, capture_output=True, text=True)
        if done.returncode != 0:
            found.append(done.stdout + done.stderr)
    return "\n".join(found)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, template_snapshot: Path) -> dict[str, Path]:
    """Projects rendered once for the module, with auth and without; tests work on copies."""
    parent = tmp_path_factory.mktemp("pristine")
    return {
        "auth": rendered_project(template_snapshot, parent / "auth"),
        "plain": rendered_project(template_snapshot, parent / "plain", auth=False),
    }


@pytest.fixture
def project(pristine: dict[str, Path], tmp_path: Path) -> Path:
    return Path(shutil.copytree(pristine["auth"], tmp_path / "demo-app", symlinks=True))


@pytest.fixture
def plain_project(pristine: dict[str, Path], tmp_path: Path) -> Path:
    return Path(shutil.copytree(pristine["plain"], tmp_path / "demo-app", symlinks=True))


# What a resource writes


def test_a_resource_writes_its_slice_and_edits_two_files(project: Path) -> None:
    plan = add_resource(project, "blog_post", "title:str:200", "author:ref:users", "--owned")

    package = "src/demo_app"
    assert sorted(map(str, plan.created)) == sorted([
        f"{package}/models/blog_post.py", f"{package}/repositories/blog_post.py",
        f"{package}/services/blog_posts.py", f"{package}/routes/blog_posts.py",
        f"alembic/versions/{plan.revision}_create_the_blog_posts_table.py",
        "tests/unit/test_blog_post_service.py", "tests/integration/test_blog_post_repository.py",
        "tests/api/test_blog_posts.py", "tests/test_blog_posts_migration.py",
    ])  # fmt: skip
    assert sorted(map(str, plan.modified)) == ["README.md", f"{package}/routes/__init__.py"]
    assert plan.path == "/api/v1/blog-posts/"
    assert re.fullmatch(r"[0-9a-f]{12}", plan.revision)
    routes = (project / package / "routes" / "__init__.py").read_text()
    assert "from . import blog_posts\n" in routes
    assert routes.endswith("api_router.include_router(blog_posts.router)\n")
    readme = (project / "README.md").read_text()
    assert readme.index("## Resources") < readme.index("### Blog post") < len(readme)
    assert "neodyme add resource blog_post title:str:200 author:ref:users --owned" in readme


def test_revisions_go_on_top_of_the_head_one_after_the_other(project: Path) -> None:
    first = add_resource(project, "gadget", "name:str")
    second = add_resource(project, "part", "gadget:ref:gadgets")

    versions = project / "alembic" / "versions"
    first_file = next(versions.glob(f"{first.revision}_*.py")).read_text()
    second_file = next(versions.glob(f"{second.revision}_*.py")).read_text()
    assert 'down_revision: str | Sequence[str] | None = "0003"' in first_file
    assert f'down_revision: str | Sequence[str] | None = "{first.revision}"' in second_file


def test_the_generated_code_is_ruff_clean_for_every_field_type_and_long_names(
    tmp_path: Path, template_snapshot: Path
) -> None:
    project = rendered_project(template_snapshot, tmp_path, name="a" * 20 + "-" + "b" * 19)
    long_field = "f" * 38
    resources = [
        GADGET, PART, NOTE,
        ["thing", "code:str:2!", "at:datetime!", "on:date!", "key:uuid?!", "mail:email!?",
         "site:url!", "level:int!", "parent:ref:things?", "thing_gadget:ref:gadgets!"],
        ["r" * 30, f"{long_field}:decimal:15,15=0.5", f"{long_field[:23]}x:enum:in-review,done?",
         f"{'g' * 20}:ref:gadgets", f"{long_field}z:str:255=a default of forty characters!!"],
        ["lonely", "body:text"],
        ["news", "headline:str", "published:bool?", "--owned"],
    ]  # fmt: skip
    written: list[PurePosixPath] = []
    for arguments in resources:
        written += add_resource(project, *arguments).created

    paths = [project / path for path in written]
    for path in paths:
        compile(path.read_text(), str(path), "exec")
    assert (
        ruff_problems(
            project,
            [*paths, project / "src" / project.name.replace("-", "_") / "routes" / "__init__.py"],
        )
        == ""
    )


def test_a_referenced_resource_is_made_in_the_tests_as_its_recorded_spec_says(
    project: Path,
) -> None:
    add_resource(project, *GADGET)
    plan = add_resource(project, *PART)

    api_tests = plan.files[next(p for p in plan.created if p.name == "test_parts.py")]
    assert "async def saved_gadget(session: AsyncSession) -> Gadget:" in api_tests
    assert "maker = await saved_user(session)" in api_tests
    assert "gadget_repository.create(session, obj_in=gadget_in)" in api_tests
    assert plan.warnings == ()


def test_the_model_records_how_it_was_made_and_it_reads_back(project: Path) -> None:
    add_resource(project, *NOTE)

    tables = read_project(project, answers_of(project)).tables

    assert tables["notes"].spec == parse_resource("note", NOTE[1:3], owned=True)
    assert tables["users"].spec is None


def test_a_table_neodyme_did_not_make_is_referred_to_and_its_test_helper_left_to_write(
    project: Path,
) -> None:
    models = project / "src" / "demo_app" / "models"
    (models / "widget.py").write_text(
        "from sqlmodel import Field, SQLModel\n\n\n"
        "class Widget(SQLModel, table=True):\n"
        "    id: int | None = Field(default=None, primary_key=True)\n"
    )

    plan = add_resource(project, "part", "widget:ref:widget")

    assert plan.warnings and "saved_widget()" in plan.warnings[0]
    model = (project / "src" / "demo_app" / "models" / "part.py").read_text()
    assert 'foreign_key="widget.id"' in model


def test_the_router_joins_the_routers_the_user_included(plain_project: Path) -> None:
    routes = plain_project / "src" / "demo_app" / "routes"
    (routes / "items.py").write_text("from fastapi import APIRouter\n\nrouter = APIRouter()\n")
    init = routes / "__init__.py"
    init.write_text(init.read_text().replace(
        "from fastapi import APIRouter\n", "from fastapi import APIRouter\n\nfrom . import items\n"
    ) + "api_router.include_router(items.router)\n")  # fmt: skip

    add_resource(plain_project, "post", "title:str")
    add_resource(plain_project, "comment", "post:ref:posts", "body:text")

    text = init.read_text()
    assert "from . import comments, items, posts\n" in text
    assert text.endswith(
        "api_router.include_router(items.router)\n"
        "api_router.include_router(posts.router)\n"
        "api_router.include_router(comments.router)\n"
    )
    assert ruff_problems(plain_project, [init]) == ""


def test_a_plan_writes_nothing(project: Path) -> None:
    before = git("status", "--porcelain", cwd=project)

    plan = plan_resource(
        project, parse_resource(GADGET[0], GADGET[1:]), answers=answers_of(project)
    )

    assert plan.files
    assert git("status", "--porcelain", cwd=project) == before


# A project given resources passes its own checks


# A project with three or four resources more takes longer to check than a variant.
CHECK_TIMEOUT = 1200


@pytest.fixture(scope="module")
def sqlite_project_with_resources(
    tmp_path_factory: pytest.TempPathFactory, template_snapshot: Path
) -> Path:
    """A SQLite project with auth and the three resources, and a fourth made before auth."""
    project = rendered_project(template_snapshot, tmp_path_factory.mktemp("sqlite"))
    for arguments in (GADGET, PART, NOTE):
        add_resource(project, *arguments)
    add_resource(project, "memo", "text:text", "gadget:ref:gadgets?", before_auth=True)
    return project


@pytest.mark.variant
def test_sqlite_project_with_resources_passes_its_checks(
    sqlite_project_with_resources: Path, redis_url: str
) -> None:
    project = sqlite_project_with_resources
    env = project_env(
        DATABASE_URL=f"sqlite+aiosqlite:///{project / 'checks.db'}",
        TEST_REDIS_URL=redis_url,
        SECRET_KEY=secrets.token_urlsafe(48),
    )
    passes_its_checks(project, env, timeout=CHECK_TIMEOUT)


@pytest.mark.variant
def test_postgresql_project_with_resources_passes_its_checks(
    tmp_path: Path, template_snapshot: Path, postgres_database: str, redis_url: str
) -> None:
    project = rendered_project(template_snapshot, tmp_path, database="postgresql")
    for arguments in (GADGET, PART, NOTE):
        add_resource(project, *arguments)
    env = project_env(
        DATABASE_URL=postgres_database,
        TEST_DATABASE_URL=postgres_database,
        TEST_REDIS_URL=redis_url,
        SECRET_KEY=secrets.token_urlsafe(48),
    )
    passes_its_checks(project, env, timeout=CHECK_TIMEOUT)


@pytest.mark.variant
def test_project_without_auth_with_resources_passes_its_checks(
    tmp_path: Path, template_snapshot: Path
) -> None:
    project = rendered_project(template_snapshot, tmp_path, auth=False)
    for arguments in (GADGET, PART):
        add_resource(project, *arguments)
    env = project_env(DATABASE_URL=f"sqlite+aiosqlite:///{project / 'checks.db'}")
    passes_its_checks(project, env, timeout=CHECK_TIMEOUT)


@pytest.mark.variant
def test_schemathesis_finds_nothing_wrong_in_the_resources(
    sqlite_project_with_resources: Path, tmp_path: Path
) -> None:
    """Signed in as the first superuser, the fuzzer calls every operation of the resources."""
    from tests.live import serving

    project = sqlite_project_with_resources
    import uv

    run(
        project,
        uv.find_uv_bin(),
        "sync",
        "--python",
        "python3",
        env=project_env(),
        timeout=CHECK_TIMEOUT,
    )
    settings = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'fuzz.db'}",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "FIRST_SUPERUSER_EMAIL": SUPERUSER[0],
        "FIRST_SUPERUSER_PASSWORD": SUPERUSER[1],
    }
    with serving(project, "run", "--no-sync", "demo-app", **settings) as server:
        login = server.call(
            "POST", "/api/v1/auth/login", form={"username": SUPERUSER[0], "password": SUPERUSER[1]}
        )
        token = login.json()["access_token"]
        done = subprocess.run(
            [SCHEMATHESIS, "run", f"{server.url}/openapi.json", "--no-color", "--checks", CHECKS,
             "--max-examples", "25", "--seed", "7", "--workers", "1", "--request-timeout", "10",
             "-H", f"Authorization: Bearer {token}",
             "--include-path-regex", "^/api/v1/(gadgets|parts|notes|memos)"],
            capture_output=True, text=True, timeout=900, cwd=tmp_path,
        )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
