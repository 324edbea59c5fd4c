package android.app;
public abstract class Activity extends android.content.Context {}
