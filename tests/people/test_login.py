from marketplace import create_app


def test_a_demo_user_signs_in_and_lands_on_their_home(client, auth, demo):
    response = auth.login("buyer@demo.cn", "demo1234")
    assert response.status_code == 302
    assert "退出" in client.get("/").get_data(as_text=True)


def test_a_wrong_password_is_refused_with_a_message(client, auth, demo):
    response = auth.login("buyer@demo.cn", "wrong")
    assert response.status_code == 401
    assert "邮箱或密码错误" in response.get_data(as_text=True)


def test_signing_out_ends_every_other_session_of_that_user(app, demo):
    phone, laptop = app.test_client(), app.test_client()
    for device in (phone, laptop):
        device.post("/login", data={"email": "buyer@demo.cn", "password": "demo1234"})
    phone.post("/logout")
    # The laptop's old cookie is refused now: it shows the sign-in link again.
    assert "登录" in laptop.get("/").get_data(as_text=True)
    assert "退出" not in laptop.get("/").get_data(as_text=True)


def test_next_never_leads_off_site(client, auth, demo):
    response = client.post("/login?next=//evil.example/x", data={"email": "buyer@demo.cn", "password": "demo1234"})
    assert response.headers["Location"] == "/"


def test_login_is_rate_limited(demo, rate_limited_app):
    client = rate_limited_app().test_client()
    statuses = [client.post("/login", data={"email": "buyer@demo.cn", "password": "x"}).status_code for _ in range(12)]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429


def test_forms_refuse_a_missing_csrf_token(demo, database_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "t", "RATELIMIT_ENABLED": False})
    response = app.test_client().post("/login", data={"email": "buyer@demo.cn", "password": "demo1234"})
    assert response.status_code == 400
