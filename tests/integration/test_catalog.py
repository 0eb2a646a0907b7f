"""The data-resource catalog (arts. 7, 15, 16, 24): validation, drafts, versions, diff, Excel, CLI."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from openpyxl import load_workbook

from engine import cli
from engine.domain import catalog, org
from engine.domain.catalog import CatalogEntry, CatalogVersion
from engine.domain.catalog_excel import ImportRejected, export_catalog, import_catalog
from engine.errors import GovflowError, InvalidForm, NotFound
from engine.models import AuditRecord
from tests.conftest import make_engine
from tests.integration.test_concurrency_pg import race

GA, SJ = "340822101", "340822102"
CLERK = "ga.clerk"


def resource(code: str = "HN-GA-001", **changes) -> dict:
    """A valid unconditionally shared resource, written as a clerk would (Chinese labels)."""
    return {
        "code": code, "name": "居民身份证办理进度", "classification": "部门库", "category": "政务服务",
        "summary": "居民身份证受理、制证、领取各环节的办理状态", "format": "数据库表",
        "data_items": [{"name": "受理编号", "type": "字符", "description": ""},
                       {"name": "办理状态", "type": "字符", "description": "受理/制证/待领取"}],
        "update_frequency": "实时", "share_type": "unconditional", "share_method": "interface",
        "usage_requirements": "仅限履行法定职责使用，不得提供给第三方（第十四条）",
        "materials": ["共享申请表", "应用场景说明"], "open_type": "closed", "open_reason": "涉及个人信息",
        **changes,
    }


def conditional(code: str = "HN-GA-002", **changes) -> dict:
    return resource(code, **{"name": "户籍人口基本信息", "classification": "基础库", "category": "人口",
                             "share_type": "conditional", "share_conditions": "仅限履行法定职责必需时使用",
                             "share_reason": "涉及公民个人信息",
                             "share_basis": "《中华人民共和国个人信息保护法》第三十四条", **changes})


def not_shared(code: str = "HN-GA-003", **changes) -> dict:
    return resource(code, **{"name": "刑事案件侦查信息", "share_type": "none", "share_method": "",
                             "usage_requirements": "", "materials": [], "share_reason": "涉及刑事侦查工作秘密",
                             "share_basis": "《中华人民共和国刑事诉讼法》第一百五十二条", **changes})


def organisation(engine, clock) -> None:
    with engine.uow() as uow:
        ga = org.create_department(uow.session, GA, "县公安局", "county_department")
        org.create_department(uow.session, SJ, "县市场监督管理局", "county_department")
        org.create_person(uow.session, CLERK, "王建国", ga, {"provider_clerk"}, "pass-word-1", clock.now())
        uow.commit()


@pytest.fixture
def eng(db_url, clock):
    engine = make_engine(db_url, clock)
    organisation(engine, clock)
    yield engine
    assert engine.verify_audit() is None  # the chain holds after every test
    engine.db_engine.dispose()


def run(engine, fn, *args, **kwargs):
    """Call a catalog command in its own unit of work and commit it."""
    with engine.uow() as uow:
        result = fn(uow, *args, **kwargs)
        uow.commit()
        return result


def draft(engine, dept=GA) -> int:
    return run(engine, catalog.open_draft, dept, CLERK, engine.clock.now()).id


def save(engine, draft_id, data) -> None:
    run(engine, catalog.upsert_entry, draft_id, data, CLERK, engine.clock.now())


def publish(engine, draft_id, basis="") -> CatalogVersion:
    return run(engine, catalog.publish_draft, draft_id, CLERK, engine.clock.now(), basis=basis)


def publish_first(engine, *resources, dept=GA) -> CatalogVersion:
    draft_id = draft(engine, dept)
    for data in resources:
        save(engine, draft_id, data)
    return publish(engine, draft_id, basis="初次编制")


def live(engine, dept=GA) -> dict[str, dict]:
    with engine.uow() as uow:
        return {e.code: e.data() for e in catalog.published_catalog(uow.session, dept)}


def version_data(engine, version_id) -> dict[str, dict]:
    with engine.uow() as uow:
        return {e.code: e.data() for e in catalog.entries_of(uow.session, version_id)}


# -- validation (arts. 15, 16, 24) ---------------------------------------------------------------

def test_a_complete_resource_is_valid_and_labels_become_keys():
    values, errors = catalog.clean_entry(resource())
    assert errors == {}
    assert (values["classification"], values["format"], values["update_frequency"], values["status"]) == \
        ("department", "database", "realtime", "active")
    assert catalog.validate_entry(conditional()) == {} and catalog.validate_entry(not_shared()) == {}


@pytest.mark.parametrize("data, field, article", [
    (conditional(share_reason=""), "share_reason", "第十五条"),
    (conditional(share_basis="  "), "share_basis", "第十五条"),
    (not_shared(share_reason=""), "share_reason", "第十五条"),
    (not_shared(share_basis=""), "share_basis", "第十五条"),
    (resource(materials=[]), "materials", "第十六条"),
    (conditional(materials="\n  \n"), "materials", "第十六条"),
    (resource(open_reason=""), "open_reason", "第二十四条"),
    (resource(open_type="有条件开放"), "open_conditions", "第二十四条"),
])
def test_each_article_rule_names_the_field_and_the_article(data, field, article):
    errors = catalog.validate_entry(data)
    assert list(errors) == [field] and article in errors[field]


def test_not_shared_resources_need_no_materials_nor_method_but_cannot_be_open():
    assert catalog.validate_entry(not_shared()) == {}
    errors = catalog.validate_entry(not_shared(open_type="open", open_reason=""))
    assert list(errors) == ["open_type"]


@pytest.mark.parametrize("changes, field, words", [
    ({"name": ""}, "name", "必填"),
    ({"code": None}, "code", "必填"),
    ({"code": "HN GA 001"}, "code", "HN-GA-001"),
    ({"share_type": "部分共享"}, "share_type", "无条件共享、有条件共享、不予共享"),
    ({"update_frequency": "每小时"}, "update_frequency", "update frequency must be one of"),
    ({"format": "PDF"}, "format", "数据库表"),
    ({"open_type": "open-ish"}, "open_type", "开放属性"),
    ({"status": "deleted"}, "status", "在用、停用"),
    ({"share_method": ""}, "share_method", "共享方式"),
    ({"data_items": []}, "data_items", "必填"),
    ({"data_items": "姓名|字符\n性别"}, "data_items", "第 2 行"),
    ({"data_items": [("姓名", "字符"), ("姓名", "字符")]}, "data_items", "重复"),
    ({"data_items": [{"name": "姓名", "type": ""}]}, "data_items", "类型"),
    ({"name": "a\nb"}, "name", "换行"),
    ({"summary": "x" * 2001}, "summary", "2000"),
    ({"category": "人口\x07"}, "category", "控制字符"),
])
def test_missing_fields_and_bad_values_are_reported_per_field(changes, field, words):
    errors = catalog.validate_entry(resource(**changes))
    assert field in errors and words in errors[field], errors


def test_data_items_and_materials_may_be_written_one_a_line():
    values, errors = catalog.clean_entry(resource(data_items="姓名|字符|全名\n性别｜字符\n\n", materials="申请表\n 承诺书 "))
    assert errors == {}
    assert values["data_items"] == [{"name": "姓名", "type": "字符", "description": "全名"},
                                    {"name": "性别", "type": "字符", "description": ""}]
    assert values["materials"] == ["申请表", "承诺书"]


def test_saving_an_invalid_resource_is_refused_naming_resource_and_field(eng):
    draft_id = draft(eng)
    with pytest.raises(InvalidForm) as refused:
        save(eng, draft_id, conditional("HN-GA-009", share_basis=""))
    assert set(refused.value.errors) == {"share_basis"}
    assert "HN-GA-009" in refused.value.errors["share_basis"] and "第十五条" in str(refused.value)
    assert version_data(eng, draft_id) == {}


# -- drafts and versions ------------------------------------------------------------------------

def test_publishing_a_draft_makes_a_new_version_and_keeps_the_old(eng, clock):
    first = publish_first(eng, resource(), conditional())
    assert (first.number, first.status, first.basis) == (1, "published", "初次编制")
    clock.advance(days=1)
    draft_id = draft(eng)
    assert set(version_data(eng, draft_id)) == {"HN-GA-001", "HN-GA-002"}  # copied from version 1
    save(eng, draft_id, {"code": "HN-GA-001", "update_frequency": "每日"})  # a partial change
    second = publish(eng, draft_id, basis="公安部令第 160 号")
    assert second.number == 2 and second.id == draft_id
    with eng.uow() as uow:
        versions = catalog.list_versions(uow.session, GA)
    assert [(v.number, v.status) for v in versions] == [(1, "superseded"), (2, "published")]
    assert versions[1].published_at == clock.now() and versions[1].published_by == CLERK
    assert version_data(eng, first.id)["HN-GA-001"]["update_frequency"] == "realtime"
    assert live(eng)["HN-GA-001"]["update_frequency"] == "daily"


def test_a_department_has_at_most_one_open_draft(eng):
    first = draft(eng)
    assert draft(eng) == first
    other = draft(eng, SJ)
    assert other != first
    with eng.uow() as uow:  # the database refuses a second draft even past the service
        uow.session.add(CatalogVersion(department_id=org.department_by_code(uow.session, GA).id,
                                       status="draft", created_by="x", created_at=eng.clock.now()))
        with pytest.raises(sa.exc.IntegrityError):
            uow.session.flush()


def test_a_published_version_cannot_be_edited(eng):
    version = publish_first(eng, resource())
    for attempt in (lambda: save(eng, version.id, resource(name="改名")),
                    lambda: publish(eng, version.id),
                    lambda: run(eng, catalog.remove_entry, version.id, "HN-GA-001", CLERK, eng.clock.now())):
        with pytest.raises(GovflowError, match="已发布"):
            attempt()


def test_the_live_catalog_ignores_draft_edits_until_published(eng):
    publish_first(eng, resource(), conditional(), not_shared())
    before = live(eng)
    draft_id = draft(eng)
    save(eng, draft_id, conditional(name="户籍人口信息（修订）"))
    save(eng, draft_id, resource("HN-GA-004", name="新资源"))
    run(eng, catalog.retire_entry, draft_id, "HN-GA-001", CLERK, eng.clock.now())
    run(eng, catalog.remove_entry, draft_id, "HN-GA-003", CLERK, eng.clock.now())
    assert live(eng) == before
    with eng.uow() as uow:
        found = catalog.get_resource(uow.session, "HN-GA-001")
    assert found.department.code == GA and found.status == "active"

    publish(eng, draft_id)
    after = live(eng)
    assert set(after) == {"HN-GA-002", "HN-GA-004"}  # retired and removed resources left the list
    assert after["HN-GA-002"]["name"] == "户籍人口信息（修订）"
    with eng.uow() as uow:
        with pytest.raises(NotFound, match="已停用"):
            catalog.get_resource(uow.session, "HN-GA-001")
        assert catalog.get_resource(uow.session, "HN-GA-001", include_retired=True).status == "retired"
        with pytest.raises(NotFound):
            catalog.get_resource(uow.session, "HN-GA-003")


def test_discarding_a_draft_leaves_the_live_catalog(eng):
    publish_first(eng, resource())
    draft_id = draft(eng)
    save(eng, draft_id, resource(name="草稿里的新名字"))
    run(eng, catalog.discard_draft, draft_id, CLERK, eng.clock.now())
    assert live(eng)["HN-GA-001"]["name"] == "居民身份证办理进度"
    with eng.uow() as uow:
        assert catalog.draft_of(uow.session, GA) is None
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(CatalogEntry).where(
            CatalogEntry.catalog_version_id == draft_id)) == 0


def test_diff_lists_added_removed_and_changed_fields(eng):
    first = publish_first(eng, resource(), conditional(), not_shared())
    draft_id = draft(eng)
    save(eng, draft_id, conditional(share_type="无条件共享", share_conditions="", materials=["申请表"]))
    run(eng, catalog.remove_entry, draft_id, "HN-GA-003", CLERK, eng.clock.now())
    save(eng, draft_id, resource("HN-GA-005", name="出入境证件办理信息"))
    second = publish(eng, draft_id)
    with eng.uow() as uow:
        diff = catalog.diff_versions(uow.session, first.id, second.id)
        same = catalog.diff_versions(uow.session, first.id, first.id)
    assert diff.added == {"HN-GA-005": "出入境证件办理信息"}
    assert diff.removed == {"HN-GA-003": "刑事案件侦查信息"}
    changes = {c.field: (c.old, c.new) for c in diff.changed["HN-GA-002"]}
    assert changes == {"share_type": ("conditional", "unconditional"),
                       "share_conditions": ("仅限履行法定职责必需时使用", ""),
                       "materials": (["共享申请表", "应用场景说明"], ["申请表"])}
    assert list(diff.changed) == ["HN-GA-002"] and same.empty
    assert diff.changed["HN-GA-002"][0].title == "共享类型"


def test_versions_of_different_departments_are_not_compared(eng):
    ga, sj = publish_first(eng, resource()), publish_first(eng, resource("HN-SJ-001"), dept=SJ)
    with eng.uow() as uow, pytest.raises(GovflowError, match="同一部门"):
        catalog.diff_versions(uow.session, ga.id, sj.id)


def test_a_code_belongs_to_one_department_of_the_county(eng):
    publish_first(eng, resource())
    sj_draft = draft(eng, SJ)
    with pytest.raises(InvalidForm) as refused:
        save(eng, sj_draft, resource())
    assert "县公安局" in refused.value.errors["code"]
    with eng.uow() as uow:
        assert [e.code for e in catalog.published_catalog(uow.session)] == ["HN-GA-001"]
        assert catalog.get_resource(uow.session, "HN-GA-001").department.name == "县公安局"


def test_publishing_checks_every_resource_and_writes_nothing_on_error(eng):
    publish_first(eng, resource())
    draft_id = draft(eng)
    save(eng, draft_id, conditional())
    with eng.uow() as uow:  # a resource saved before a rule existed, or written past the service
        entry = catalog._entry(uow.session, draft_id, "HN-GA-002")
        entry.share_basis, entry.materials = "", []
        uow.commit()
    audit_before = audit_count(eng)
    with pytest.raises(InvalidForm) as refused:
        publish(eng, draft_id)
    assert set(refused.value.errors) == {"HN-GA-002.share_basis", "HN-GA-002.materials"}
    assert "户籍人口基本信息" in refused.value.errors["HN-GA-002.share_basis"]
    with eng.uow() as uow:
        assert [(v.number, v.status) for v in catalog.list_versions(uow.session, GA)] == \
            [(1, "published"), (None, "draft")]
    assert set(live(eng)) == {"HN-GA-001"} and audit_count(eng) == audit_before


def test_replacing_a_drafts_resources_reports_every_bad_row_and_changes_nothing(eng):
    draft_id = draft(eng)
    save(eng, draft_id, resource())
    rows = [conditional(share_reason=""), not_shared(share_type="从不共享"), resource("HN-GA-007")]
    with pytest.raises(InvalidForm) as refused:
        run(eng, catalog.replace_entries, draft_id, rows, CLERK, eng.clock.now())
    assert set(refused.value.errors) == {"HN-GA-002.share_reason", "HN-GA-003.share_type"}
    assert set(version_data(eng, draft_id)) == {"HN-GA-001"}
    assert run(eng, catalog.replace_entries, draft_id, rows[2:], CLERK, eng.clock.now()) == 1
    assert set(version_data(eng, draft_id)) == {"HN-GA-007"}


def test_an_empty_draft_is_not_published(eng):
    with pytest.raises(GovflowError, match="没有任何资源"):
        publish(eng, draft(eng))


def test_every_change_is_audited(eng):
    draft_id = draft(eng)
    save(eng, draft_id, resource())
    save(eng, draft_id, resource())  # unchanged: nothing to record
    save(eng, draft_id, resource(name="新名称"))
    publish(eng, draft_id)
    with eng.uow() as uow:
        records = uow.session.scalars(sa.select(AuditRecord).order_by(AuditRecord.id)).all()
    actions = [r.action for r in records if r.action.startswith("catalog")]
    assert actions == ["catalog_draft_opened", "catalog_entry_saved", "catalog_entry_saved", "catalog_published"]
    assert '"fields": ["name"]' in records[-2].summary and all(r.actor == CLERK for r in records)


def audit_count(engine) -> int:
    with engine.uow() as uow:
        return uow.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord))


# -- Excel ---------------------------------------------------------------------------------------

def tricky_catalog() -> list[dict]:
    return [resource(summary="=HYPERLINK(\"http://x\")，以等号开头的摘要\n第二行"), conditional(),
            not_shared(open_type="closed"), resource("HN-GA-004", status="retired", data_items="编号|整数\n名称|字符|含|竖线"),
            resource("0042", name="数字代码", open_type="open", open_reason="", format="电子表格")]


def test_excel_round_trip_gives_an_identical_catalog(eng, tmp_path):
    first = publish_first(eng, *tricky_catalog())
    path = tmp_path / "ga.xlsx"
    with eng.uow() as uow:
        assert export_catalog(uow.session, GA, path) == 5
    with eng.uow() as uow:
        result = import_catalog(uow, GA, path, CLERK, eng.clock.now())
        uow.commit()
    assert result.count == 5
    second = publish(eng, result.draft_id)
    assert second.number == 2
    assert version_data(eng, second.id) == version_data(eng, first.id)
    with eng.uow() as uow:
        assert catalog.diff_versions(uow.session, first.id, second.id).empty


def test_exporting_the_draft_and_an_empty_catalog(eng, tmp_path):
    with eng.uow() as uow:
        assert export_catalog(uow.session, GA, tmp_path / "empty.xlsx") == 0
        with pytest.raises(NotFound, match="草稿"):
            export_catalog(uow.session, GA, tmp_path / "none.xlsx", draft=True)
    draft_id = draft(eng)
    save(eng, draft_id, resource())
    with eng.uow() as uow:
        assert export_catalog(uow.session, GA, tmp_path / "draft.xlsx", draft=True) == 1
    sheet = load_workbook(tmp_path / "draft.xlsx").worksheets[0]
    assert [c.value for c in sheet[2]][:3] == ["HN-GA-001", "居民身份证办理进度", "部门库"]


def spoil(path, cells: dict[str, object]) -> None:
    book = load_workbook(path)
    sheet = book.worksheets[0]
    for ref, value in cells.items():
        sheet[ref] = value
    book.save(path)


def test_a_file_with_bad_rows_imports_nothing_and_reports_every_row(eng, tmp_path):
    publish_first(eng, resource(), conditional(), not_shared(), resource("HN-GA-004"), resource("HN-GA-005"))
    draft_id = draft(eng)
    save(eng, draft_id, resource("HN-GA-006", name="草稿中的资源"))
    path = tmp_path / "bad.xlsx"
    with eng.uow() as uow:
        export_catalog(uow.session, GA, path)
    spoil(path, {"I3": "部分共享",        # row 3: share type not in art. 15
                 "L4": None,              # row 4 is not shared: basis missing (art. 15)
                 "O5": None, "B5": None,  # row 5: materials (art. 16) and name missing
                 "A6": "HN-GA-001",       # row 6: code repeats row 2
                 "G2": "姓名"})           # row 2: data item without a type
    before, audit_before = version_data(eng, draft_id), audit_count(eng)
    with eng.uow() as uow, pytest.raises(ImportRejected) as refused:
        import_catalog(uow, GA, path, CLERK, eng.clock.now())
    found = {(e.row, e.column, e.letter) for e in refused.value.errors}
    assert found == {(2, "信息项", "G"), (3, "共享类型", "I"), (4, "有条件/不予共享依据", "L"),
                     (5, "资源名称", "B"), (5, "申请材料", "O"), (6, "资源代码", "A")}
    assert "第 3 行 I 列「共享类型」" in str(refused.value) and "与第 2 行重复" in str(refused.value)
    assert version_data(eng, draft_id) == before and audit_count(eng) == audit_before


def test_an_import_may_not_take_another_departments_code(eng, tmp_path):
    publish_first(eng, resource("HN-SJ-001"), dept=SJ)
    publish_first(eng, resource())
    path = tmp_path / "ga.xlsx"
    with eng.uow() as uow:
        export_catalog(uow.session, GA, path)
    spoil(path, {"A2": "HN-SJ-001"})
    with eng.uow() as uow, pytest.raises(ImportRejected) as refused:
        import_catalog(uow, GA, path, CLERK, eng.clock.now())
    assert [(e.row, e.column) for e in refused.value.errors] == [(2, "资源代码")]
    assert "县市场监督管理局" in refused.value.errors[0].message
    with eng.uow() as uow:
        assert catalog.draft_of(uow.session, GA) is None  # nothing opened either


def test_a_corrupt_file_is_refused_clearly(eng, tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not really a workbook")
    with eng.uow() as uow, pytest.raises(ImportRejected, match="损坏或不是 Excel 工作簿"):
        import_catalog(uow, GA, path, CLERK, eng.clock.now())
    with eng.uow() as uow:
        assert catalog.draft_of(uow.session, GA) is None


# -- concurrent writers (PostgreSQL) ------------------------------------------------------------

@pytest.fixture
def two_engines(pg_url, clock):
    """Two engines with their own connection pools, as two web workers would have."""
    first, second = make_engine(pg_url, clock), make_engine(pg_url, clock)
    organisation(first, clock)
    yield first, second
    assert first.verify_audit() is None
    first.db_engine.dispose()
    second.db_engine.dispose()


@pytest.mark.postgres
def test_two_clerks_opening_a_draft_at_once_share_one(two_engines):
    first, second = two_engines
    for _ in range(10):
        results = race(lambda: draft(first), lambda: draft(second))
        assert isinstance(results[0], int) and results[0] == results[1], results
        run(first, catalog.discard_draft, results[0], CLERK, first.clock.now())


@pytest.mark.postgres
def test_two_departments_publishing_one_code_at_once_give_one_owner(two_engines):
    first, second = two_engines
    for n in range(10):
        code = f"HN-RACE-{n}"
        ga_draft, sj_draft = draft(first, GA), draft(second, SJ)
        save(first, ga_draft, resource(code))
        save(second, sj_draft, resource(code))
        results = race(lambda: publish(first, ga_draft), lambda: publish(second, sj_draft))
        winners = [r for r in results if isinstance(r, CatalogVersion)]
        losers = [r for r in results if isinstance(r, InvalidForm) and "code" in str(r)]
        assert len(winners) == 1 and len(losers) == 1, results
        with first.uow() as uow:
            owners = [e.department.code for e in catalog.published_catalog(uow.session) if e.code == code]
        assert owners == [winners[0].department.code]
        loser = sj_draft if winners[0].id == ga_draft else ga_draft
        run(first, catalog.discard_draft, loser, CLERK, first.clock.now())


# -- command line --------------------------------------------------------------------------------

def test_the_catalog_commands(eng, tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "build_engine", lambda config: eng)
    runner = CliRunner()
    template, data = tmp_path / "template.xlsx", tmp_path / "ga.xlsx"
    assert runner.invoke(cli.main, ["catalog", "template", str(template)]).exit_code == 0
    publish_first(eng, resource(), conditional())
    assert runner.invoke(cli.main, ["catalog", "export", GA, str(data)]).exit_code == 0

    spoil(data, {"I3": "部分共享"})
    bad = runner.invoke(cli.main, ["catalog", "import", GA, str(data), "--by", CLERK])
    assert bad.exit_code == 1 and "第 3 行 I 列「共享类型」" in bad.output and "nothing imported" in bad.output

    spoil(data, {"I3": "有条件共享", "D2": "证件办理"})
    good = runner.invoke(cli.main, ["catalog", "import", GA, str(data), "--by", CLERK])
    assert good.exit_code == 0, good.output
    diff = runner.invoke(cli.main, ["catalog", "diff", GA, "1", "draft"])
    assert diff.exit_code == 0 and "~ HN-GA-001" in diff.output and "category (类目): '政务服务' -> '证件办理'" in diff.output
    published = runner.invoke(cli.main, ["catalog", "publish", GA, "--by", CLERK, "--basis", "职能调整"])
    assert published.exit_code == 0 and "version 2 published" in published.output
    assert runner.invoke(cli.main, ["catalog", "diff", GA, "2", "2"]).output.strip() == "no differences"
    missing = runner.invoke(cli.main, ["catalog", "publish", GA])
    assert missing.exit_code == 1 and "没有草稿" in missing.output
