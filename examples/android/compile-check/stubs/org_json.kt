@file:Suppress("unused", "UNUSED_PARAMETER")

package org.json

open class JSONException(message: String) : Exception(message)

open class JSONObject() {
    constructor(json: String) : this()
    fun put(name: String, value: Any?): JSONObject = this
    fun put(name: String, value: Int): JSONObject = this
    fun put(name: String, value: Long): JSONObject = this
    fun put(name: String, value: Double): JSONObject = this
    fun put(name: String, value: Boolean): JSONObject = this
    fun has(name: String): Boolean = TODO()
    fun optString(name: String, fallback: String): String = TODO()
    fun optLong(name: String, fallback: Long): Long = TODO()
}
