from oca_sync.moodle.client import encode, is_read


def test_nested_brackets_to_any_depth():
    params = {
        "courses": [
            {"fullname": "A", "courseformatoptions": [{"name": "numsections", "value": 3}]},
            {"fullname": "B", "courseformatoptions": [{"name": "hiddensections", "value": 0}]},
        ]
    }
    assert encode(params) == [
        ("courses[0][fullname]", "A"),
        ("courses[0][courseformatoptions][0][name]", "numsections"),
        ("courses[0][courseformatoptions][0][value]", "3"),
        ("courses[1][fullname]", "B"),
        ("courses[1][courseformatoptions][0][name]", "hiddensections"),
        ("courses[1][courseformatoptions][0][value]", "0"),
    ]


def test_dict_inside_dict_and_scalars():
    assert encode({"events": {"courseids": [4, 5]}, "options": {"userevents": False}}) == [
        ("events[courseids][0]", "4"),
        ("events[courseids][1]", "5"),
        ("options[userevents]", "0"),
    ]


def test_none_is_left_out_but_empty_string_is_sent():
    assert encode({"a": None, "b": "", "c": [None, 1]}) == [("b", ""), ("c[1]", "1")]


def test_unicode_values_pass_unchanged():
    assert encode({"name": 'Кыргызстан <span lang="ky" class="multilang">Ж</span>'}) == [
        ("name", 'Кыргызстан <span lang="ky" class="multilang">Ж</span>')
    ]


def test_read_and_write_functions_are_told_apart():
    reads = ["core_webservice_get_site_info", "core_course_get_contents", "core_enrol_get_enrolled_users",
             "core_user_get_users_by_field", "core_calendar_get_calendar_events"]
    writes = ["core_course_create_courses", "core_update_inplace_editable", "enrol_manual_enrol_users",
              "core_courseformat_update_course", "core_group_add_group_members", "core_role_unassign_roles"]
    assert all(is_read(f) for f in reads)
    assert not any(is_read(f) for f in writes)
