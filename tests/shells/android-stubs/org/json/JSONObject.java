package org.json;
public class JSONObject {
    public JSONObject() {}
    public JSONObject(String json) throws JSONException {}
}
