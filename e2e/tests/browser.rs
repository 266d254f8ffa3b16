//! Players' paths through the real UI, in headless Chromium.

use e2e::start;

#[actix_web::test]
async fn web_login_shows_the_menu_survives_a_reload_and_logs_out() {
    let s = start().await;
    let photo = s.sim.avatar_url("pixel");
    s.sim.add_user(acwing_sim::SimUser {
        openid: "openid-pixel".into(),
        username: "pixel".into(),
        photo: photo.clone(),
    });
    s.goto(&format!("{}/", s.app)).await;
    s.text("#acapp-login").await;
    s.screenshot("web-login").await;
    s.click("#acapp-login").await;
    s.select("#user", "openid-pixel").await;
    s.click("#agree").await;
    assert_eq!(s.text("#acapp-username").await, "pixel");
    assert_eq!(
        s.attr("#acapp-avatar", "src").await.as_deref(),
        Some(photo.as_str())
    );
    let loaded = s
        .client
        .execute(
            "return document.getElementById('acapp-avatar').naturalWidth > 0",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(loaded, serde_json::json!(true), "the avatar loads");
    s.screenshot("web-menu").await;

    s.client.refresh().await.unwrap();
    assert_eq!(
        s.text("#acapp-username").await,
        "pixel",
        "the session survives a reload"
    );

    s.click("#acapp-exit").await;
    s.text("#acapp-login").await;
    s.client.refresh().await.unwrap();
    s.text("#acapp-login").await;
    s.close().await;
}

#[actix_web::test]
async fn a_web_rejection_becomes_a_message_and_a_clean_url() {
    let s = start().await;
    s.goto(&format!("{}/", s.app)).await;
    s.click("#acapp-login").await;
    s.click("#reject").await;
    let code = s.attr("#acapp-login-error", "data-code").await;
    assert_eq!(code.as_deref(), Some("user_rejected"));
    assert!(s.text("#acapp-login-error").await.contains("拒绝"));
    let url = s.client.current_url().await.unwrap();
    assert!(!url.as_str().contains("login_error"), "{url}");
    s.close().await;
}

#[actix_web::test]
async fn the_acapp_window_logs_in_cross_origin_and_exits() {
    let s = start().await;
    s.goto(&format!("{}/acapp/", s.sim.base_url())).await;
    // The app starts authorization by itself when the window opens.
    s.text("#acapp-agree").await;
    s.screenshot("acapp-login").await;
    s.click("#acapp-agree").await;
    assert_eq!(s.text("#acapp-username").await, "yxc");
    s.screenshot("acapp-menu").await;

    // A second AcGame on the same page (sharing the wasm) runs on its own.
    let second = format!(
        "const done = arguments[0];
         const div = document.createElement('div'); div.id = 'app-2'; document.body.append(div);
         import('{}/acapp/game.js').then(m => {{ new m.AcGame('app-2'); done(true); }});",
        s.app
    );
    s.client.execute_async(&second, vec![]).await.unwrap();
    s.text("#app-2 #acapp-login").await;
    assert_eq!(
        s.text("#app-1 #acapp-username").await,
        "yxc",
        "the first window is untouched"
    );

    s.click("#app-1 #acapp-exit").await;
    assert_eq!(s.text("#sim-closed").await.trim(), "AcApp 窗口已关闭");
    let closed = s
        .client
        .execute("return document.body.dataset.acappClosed", vec![])
        .await
        .unwrap();
    assert_eq!(closed, serde_json::json!("1"));
    s.close().await;
}

#[actix_web::test]
async fn acapp_rejection_in_both_styles_shows_a_message() {
    let s = start().await;
    for style in ["callback", "redirect"] {
        s.goto(&format!("{}/acapp/?reject={style}", s.sim.base_url()))
            .await;
        s.click("#acapp-reject").await;
        let code = s.attr("#acapp-login-error", "data-code").await;
        assert_eq!(code.as_deref(), Some("user_rejected"), "{style}");
        s.text("#acapp-login").await;
    }
    s.close().await;
}

#[actix_web::test]
async fn a_hostile_name_and_photo_render_harmlessly() {
    let s = start().await;
    s.goto(&format!("{}/", s.app)).await;
    s.click("#acapp-login").await;
    s.select("#user", "openid-hostile").await;
    s.click("#agree").await;
    assert_eq!(
        s.text("#acapp-username").await,
        "<img src=x onerror=alert(1)>"
    );
    let injected = s
        .client
        .execute(
            "return document.querySelectorAll('#acapp-username img').length",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(injected, serde_json::json!(0));
    let photo = s.attr("#acapp-avatar", "src").await.unwrap();
    assert!(photo.starts_with("data:image/svg+xml"), "{photo}");
    s.close().await;
}
